"""How operations read on pages: the kind's label, durations."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone

from operations.kinds import kind_of
from operations.models import Operation
from portal.times import local_and_utc, moment_from

register = template.Library()


@register.filter
def kind_label(kind: str) -> str:
    try:
        return kind_of(kind).label
    except LookupError:
        return kind


@register.filter
def duration(value: timedelta | None) -> str:
    """“1 h 05 min”, “4 min 10 s”, “12 s”: elapsed and projected times of fleet operations."""
    if value is None:
        return ""
    seconds = max(0, int(value.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


@register.filter
def expires_in(moment: datetime | None) -> str:
    """“expires in 23 min”: an approval's deadline as a countdown (the approvals page polls it)."""
    if moment is None:
        return "does not expire"
    left = moment - timezone.now()
    if left <= timedelta(0):
        return "expired"
    if left < timedelta(minutes=1):
        return "expires in less than a minute"
    minutes = int(left.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"expires in {hours} h {minutes:02d} min" if hours else f"expires in {minutes} min"


# The parameters a person deciding on an approval needs, in their words; the rest (resource
# ids, names chosen up front) is on the operation's page.
_PLAN_FACTS = {
    "mode": "How",
    "source": "From",
    "point_in_time": "To the time",
    "target_name": "New database",
    "target_sku": "New plan size",
    "target_instances": "New instance count",
    "target_capacity": "New pool capacity",
    "sku_name": "New database size",
    "level": "Key level",
    "override_reason": "Guard rail overridden because",
}
_WORDS = {
    "in_place": "in place (the restored copy becomes the live database)",
    "parallel": "in parallel (a copy beside the live database)",
    "point_in_time": "a point in time",
    "long_term_backup": "a long-term backup",
    "deleted_database": "a deleted database",
}


@register.filter
def plan_facts(operation: Operation) -> list[tuple[str, str]]:
    facts: list[tuple[str, str]] = []
    for key, label in _PLAN_FACTS.items():
        value = operation.parameters.get(key)
        if value in (None, ""):
            continue
        if key == "point_in_time":
            moment = moment_from(str(value))
            facts.append((label, local_and_utc(moment) if moment else str(value)))
        else:
            facts.append((label, _WORDS.get(str(value), str(value))))
    return facts
