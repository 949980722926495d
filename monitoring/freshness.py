"""When a snapshot counts as stale: older than two refresh intervals of the hot sources."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.timesince import timesince


def hot_refresh_interval() -> timedelta:
    """How often the hot sources (health, metrics, alerts) are read."""
    return timedelta(seconds=settings.MONITORING_HOT_INTERVAL_SECONDS)


def is_stale(as_of: datetime | None) -> bool:
    return as_of is None or timezone.now() - as_of > 2 * hot_refresh_interval()


def age_in_words(moment: datetime, now: datetime | None = None) -> str:
    """'just now', '3 minutes ago', '2 hours ago' (one unit)."""
    now = now or timezone.now()
    if now - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, now, depth=1)} ago"
