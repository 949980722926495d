"""When a snapshot counts as stale: older than two refresh intervals of the hot sources."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

# The hot sources' cadence when MONITORING_HOT_INTERVAL_SECONDS is not set.
DEFAULT_HOT_INTERVAL_SECONDS = 120


def hot_refresh_interval() -> timedelta:
    return timedelta(
        seconds=getattr(settings, "MONITORING_HOT_INTERVAL_SECONDS", DEFAULT_HOT_INTERVAL_SECONDS)
    )


def is_stale(as_of: datetime | None) -> bool:
    return as_of is None or timezone.now() - as_of > 2 * hot_refresh_interval()
