"""Times on pages: PORTAL_TIME_ZONE with UTC beside it (DESIGN.md §7)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django import template
from django.conf import settings

from backups.restore_time import describe

register = template.Library()


@register.filter
def local_and_utc(value: datetime | str | None) -> str:
    """'2026-04-05 02:30:00 AEST (2026-04-04 16:30:00 UTC)'; ISO strings (JSON snapshots) too."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return describe(moment, ZoneInfo(settings.PORTAL_TIME_ZONE))
