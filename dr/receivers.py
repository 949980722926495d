"""What disaster recovery does when other apps' things happen."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def readiness_after_backups(sender: Any, **kwargs: Any) -> None:
    """Readiness reads the newest geo backups from the monitoring snapshots: check it again as
    soon as a backups refresh has written them (a fresh portal has readiness within minutes,
    not at the next hourly run). A broker outage only delays it to that hourly run."""
    from django.db import transaction

    from dr.tasks import refresh_readiness

    def enqueue() -> None:
        try:
            refresh_readiness.delay()
        except Exception:  # noqa: BLE001 - kombu raises many kinds; the hourly run covers it
            log.warning("readiness refresh not enqueued; the hourly run will cover it")

    transaction.on_commit(enqueue)
