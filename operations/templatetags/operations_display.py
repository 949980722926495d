"""How operations read on pages: the kind's label, durations."""

from __future__ import annotations

from datetime import timedelta

from django import template

from operations.kinds import kind_of

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
