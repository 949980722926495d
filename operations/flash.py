"""Flash messages about an operation, and the rule that keeps them from going stale.

A message about an operation ("approved; it is queued") is true of one state. It carries the
operation and that state in its tags; the operation's page drops it when drawn once the state
has moved on, and the live progress panel removes it from the page (htmx, out of band) as soon
as the state changes. Messages about anything else are left alone.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.messages.storage.base import Message
from django.http import HttpRequest

from operations.models import Operation

_ABOUT = re.compile(r"\boperation-(\d+)\b.*\boperation-state-([a-z_]+)\b")


def operation_flash(request: HttpRequest, operation: Operation, text: str) -> None:
    """A success message about `operation` as it is now."""
    messages.success(
        request, text, extra_tags=f"operation-{operation.pk} operation-state-{operation.state}"
    )


def is_stale(message: Message, operation: Operation) -> bool:
    about = _ABOUT.search(message.extra_tags or "")
    return about is not None and (
        int(about.group(1)) == operation.pk and about.group(2) != operation.state
    )


def messages_still_true(request: HttpRequest, operation: Operation) -> list[Message]:
    """The request's messages (consumed), less those about `operation` in an earlier state."""
    return [m for m in messages.get_messages(request) if not is_stale(m, operation)]
