"""Times in the admin read as on every other page: PORTAL_TIME_ZONE with UTC beside it. Django's
own rendering would show the server's TIME_ZONE (UTC) with no zone named."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin

from portal.times import local_and_utc


def local_time_column(field: str, description: str) -> Callable[[Any, Any], str]:
    """A list_display / readonly_fields column for the datetime `field`, sortable by it."""

    @admin.display(description=description, ordering=field)
    def column(model_admin: Any, obj: Any) -> str:
        value = getattr(obj, field)
        return local_and_utc(value) if value else "—"

    column.__name__ = f"{field}_local"
    return column


def localised(columns: tuple[str, ...], fields: tuple[str, ...]) -> tuple[str, ...]:
    """`columns` with each of `fields` replaced by its local-time column's name."""
    return tuple(f"{name}_local" if name in fields else name for name in columns)
