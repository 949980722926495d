"""Template filters for times, all from portal/times.py: PORTAL_TIME_ZONE with UTC beside it."""

from __future__ import annotations

from datetime import datetime

from django import template

from portal import times

register = template.Library()


@register.filter
def local_and_utc(value: datetime | str | None) -> str:
    """'2026-04-05 02:30:00 AEST (2026-04-04 16:30:00 UTC)'; ISO strings (JSON snapshots) too."""
    moment = times.moment_from(value)
    return times.local_and_utc(moment) if moment else "—"


@register.filter
def local_time(value: datetime | str | None) -> str:
    """'2026-04-05 02:30 AEST' (pair it with `local_and_utc` in a title)."""
    moment = times.moment_from(value)
    return times.local_time(moment) if moment else "—"


@register.filter
def local_clock(value: datetime | str | None) -> str:
    """'14:00' in the portal's time zone."""
    moment = times.moment_from(value)
    return times.local_clock(moment) if moment else ""
