"""Per-source freshness on a TenantHealth row: when each source last succeeded and why its
latest read failed. Columns keep the last good values; only `sources` records failures."""

from __future__ import annotations

from datetime import datetime

from monitoring.models import Source, TenantHealth

# The hourly read of Defender's unhealthy recommendations (a key of `sources`, not a Source
# choice: it has no column of its own beyond `TenantHealth.recommendations`).
RECOMMENDATIONS = "recommendations"

# Refreshed every few minutes; their age decides staleness (and `TenantHealth.as_of`).
HOT_SOURCES: tuple[str, ...] = (
    Source.APPS,
    Source.DATABASES,
    Source.RESOURCE_HEALTH,
    Source.METRICS,
    Source.ALERTS,
)


def source_as_of(health: TenantHealth, source: str) -> datetime | None:
    text = (health.sources or {}).get(source, {}).get("as_of")
    return datetime.fromisoformat(text) if text else None


def mark_read(health: TenantHealth, source: str, at: datetime) -> None:
    """The source was read successfully: its values on the row are as of `at`."""
    health.sources = {**(health.sources or {}), source: {"as_of": at.isoformat(), "error": ""}}


def mark_failed(health: TenantHealth, source: str, at: datetime, reason: str) -> None:
    """The source could not be read: keep its last good values and its as_of, say why."""
    previous = (health.sources or {}).get(source, {})
    health.sources = {
        **(health.sources or {}),
        source: {
            "as_of": previous.get("as_of"),
            "error": reason[:300],
            "failed_at": at.isoformat(),
        },
    }


def oldest_hot_as_of(health: TenantHealth) -> datetime | None:
    moments = [source_as_of(health, s) for s in HOT_SOURCES]
    if any(m is None for m in moments):
        return None
    return min(m for m in moments if m is not None)
