"""How operations read on pages: the kind's label."""

from __future__ import annotations

from django import template

from operations.kinds import kind_of

register = template.Library()


@register.filter
def kind_label(kind: str) -> str:
    try:
        return kind_of(kind).label
    except LookupError:
        return kind
