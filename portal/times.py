"""The portal's one place for time zones and how times read (docs/architecture.md §7).

Times are stored in UTC. People read them in PORTAL_TIME_ZONE with UTC beside them, the same
way on every page, in every refusal and in every command's output.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo

from django.conf import settings


@cache
def _zone_named(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def portal_zone() -> ZoneInfo:
    """PORTAL_TIME_ZONE (checked at start-up), read each time so a changed setting applies."""
    return _zone_named(settings.PORTAL_TIME_ZONE)


def moment_from(value: datetime | str | None) -> datetime | None:
    """An aware datetime from a datetime or an ISO-8601 string (JSON snapshots keep those)."""
    if not value:
        return None
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def local_and_utc(moment: datetime, zone: ZoneInfo | None = None) -> str:
    """'2026-04-05 02:30:00 AEST (2026-04-04 16:30:00 UTC)': local time with UTC beside it."""
    local = moment.astimezone(zone or portal_zone())
    utc = moment.astimezone(UTC)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} ({utc:%Y-%m-%d %H:%M:%S} UTC)"


def local_time(moment: datetime) -> str:
    """'2026-04-05 02:30 AEST' (lists that put UTC in the hover title)."""
    local = moment.astimezone(portal_zone())
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def local_clock(moment: datetime) -> str:
    """'14:00' in the portal's zone (chart axes, compact lists)."""
    return moment.astimezone(portal_zone()).strftime("%H:%M")
