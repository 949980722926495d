"""How snapshots read on the monitoring pages: their age, local clock times, Azure portal links."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import template
from django.conf import settings
from django.utils import timezone

from backups.forms import reading_value
from backups.restore_time import describe
from monitoring.freshness import age_in_words, is_stale
from portal.times import moment_from, portal_zone

register = template.Library()


def _zone() -> ZoneInfo:
    return portal_zone()


def _moment(value: datetime | str | None) -> datetime | None:
    return moment_from(value)


def _ago(moment: datetime) -> str:
    return age_in_words(moment)


@register.inclusion_tag("monitoring/_as_of.html")
def as_of(value: datetime | str | None, prefix: str = "as of") -> dict[str, Any]:
    """'as of 3 min ago', local time and UTC on hover, marked when stale."""
    moment = _moment(value)
    if moment is None:
        return {"moment": None}
    return {
        "moment": moment,
        "prefix": prefix,
        "ago": _ago(moment),
        "exact": describe(moment, _zone()),
        "stale": is_stale(moment),
    }


@register.filter
def local_clock(value: datetime | str | None) -> str:
    """'14:00' in the portal's time zone (chart axes)."""
    moment = _moment(value)
    return moment.astimezone(_zone()).strftime("%H:%M") if moment else ""


@register.filter
def ago(value: datetime | str | None) -> str:
    """'12 minutes ago' (one unit), or '—'."""
    moment = _moment(value)
    return _ago(moment) if moment else "—"


@register.filter
def older_than_hours(value: datetime | str | None, hours: int) -> bool:
    moment = _moment(value)
    return moment is None or timezone.now() - moment > timedelta(hours=hours)


@register.filter
def percent(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} %" if value >= 10 else f"{value:.1f} %"


@register.filter
def azure_portal_url(resource_id: str) -> str:
    """The resource's blade in the Azure portal (`#@<directory>/resource<id>`)."""
    directory = settings.ENTRA_TENANT_ID
    return f"https://portal.azure.com/#@{directory}/resource{resource_id}"


@register.filter
def series(values: dict[str, Any] | None, metric: str) -> Any:
    """One metric's points from a stored `{metric: [[iso, value], ...]}` series."""
    return (values or {}).get(metric) or []


@register.filter
def restore_reading(value: datetime | str | None) -> str:
    """The restore form's reading (UTC, as the time field takes it) for a moment: the
    shortcut's value."""
    moment = _moment(value)
    return reading_value(moment) if moment else ""
