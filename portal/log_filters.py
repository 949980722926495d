"""Log filters: what the portal's logs leave out, and why."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied


class ExpectedRefusalsOnOneLine(logging.Filter):
    """A 403 is the portal working as intended (and already an audit event): Django logs it with
    the PermissionDenied traceback, which buries real errors. Keep one line with the reason."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], PermissionDenied):
            reason = str(record.exc_info[1])
            record.msg = record.getMessage() + (f" ({reason})" if reason else "")
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True
