"""The monitoring sections of the tenant page: what they show, read through the selectors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.utils import timezone

from backups.selectors import restore_snapshot_for
from monitoring.models import HealthStatus, Source
from monitoring.selectors import TIMELINE_DAYS, TenantSnapshot, tenant_snapshot
from monitoring.sources import RECOMMENDATIONS, source_as_of
from operations.selectors import operations_visible_to
from portal.roles import REQUEST_RESTORE

# Long-term backups listed before "show all": a quarter of a weekly policy's year.
LTR_SHOWN = 12

# (metric key in the stored series, chart title, unit, fixed maximum or None, threshold)
DATABASE_CHARTS = (
    ("cpu_percent", "Database CPU", "%", 100.0, None),
    ("storage_percent", "Database storage", "%", 100.0, None),
    ("workers_percent", "Workers", "%", 100.0, None),
    ("sessions_percent", "Sessions", "%", 100.0, None),
    ("log_write_percent", "Log write", "%", 100.0, None),
)
POOL_CHARTS = (
    ("cpu_percent", "Pool CPU", "%", 100.0, 90.0),
    ("storage_percent", "Pool storage", "%", 100.0, None),
)
APP_CHARTS = (
    ("Requests", "Requests per hour", "", None, None),
    ("Http5xx", "5xx responses per hour", "", None, None),
    ("HttpResponseTime", "Response time", " s", None, None),
)


@dataclass(frozen=True)
class ChartSpec:
    points: list[Any]
    title: str
    unit: str
    max_value: float | None
    threshold: float | None


@dataclass(frozen=True)
class SourceState:
    label: str
    as_of: str | None
    error: str


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "status", "alert" or "operation"
    text: str
    detail: str
    link: str
    # For a turn for the worse inside the restore window: a minute before it, the obvious
    # point to restore to.
    restore_at: datetime | None = None


def _charts(series: dict[str, Any] | None, specs: tuple[Any, ...]) -> list[ChartSpec]:
    stored = series or {}
    return [
        ChartSpec(stored.get(key) or [], title, unit, top, threshold)
        for key, title, unit, top, threshold in specs
        if key in stored
    ]


def _sources(snapshot: TenantSnapshot) -> list[SourceState]:
    states = (snapshot.health.sources if snapshot.health else None) or {}
    labels = dict(Source.choices) | {RECOMMENDATIONS: "Defender recommendations"}
    return [
        SourceState(labels.get(key, key), value.get("as_of"), value.get("error", ""))
        for key, value in states.items()
        if isinstance(value, dict)
    ]


WORSE = (HealthStatus.DOWN, HealthStatus.DEGRADED)


def _restore_point(moment: datetime, earliest: datetime | None) -> datetime | None:
    point = moment - timedelta(minutes=1)
    return point if earliest is not None and point >= earliest else None


def _timeline(user: User | AnonymousUser, snapshot: TenantSnapshot) -> list[TimelineEntry]:
    """Status changes, alerts and operations of the last 30 days, newest first."""
    since = timezone.now() - timedelta(days=TIMELINE_DAYS)
    earliest = snapshot.health.backup_earliest if snapshot.health else None
    entries = [
        TimelineEntry(
            change.at,
            "status",
            f"{change.get_from_status_display() or 'New'} → {change.get_to_status_display()}",
            "; ".join(change.reasons),
            "",
            _restore_point(change.at, earliest) if change.to_status in WORSE else None,
        )
        for change in snapshot.status_changes
    ]
    entries += [
        TimelineEntry(
            alert.generated_at,
            "alert",
            f"{alert.get_severity_display()} alert: {alert.display_name}",
            alert.get_status_display(),
            "",
        )
        for alert in snapshot.alerts
        if alert.generated_at >= since
    ]
    operations = operations_visible_to(user).filter(tenant=snapshot.tenant, created_at__gte=since)
    entries += [
        TimelineEntry(
            operation.created_at,
            "operation",
            f"Operation #{operation.pk}: {operation.kind.replace('_', ' ')}",
            operation.get_state_display(),
            f"/operations/{operation.pk}/",
        )
        for operation in operations
    ]
    return sorted(entries, key=lambda entry: entry.at, reverse=True)


def ltr_policy_text(policy: dict[str, Any]) -> str:
    """The LTR policy in words ("" when not read yet): the kept backups by cadence, ISO 8601
    durations as Azure gives them ("PT0S" keeps none)."""
    if not policy:
        return ""
    kept = [
        f"{cadence} {policy[cadence]}"
        for cadence in ("weekly", "monthly", "yearly")
        if policy.get(cadence) and policy[cadence] != "PT0S"
    ]
    return " · ".join(kept) or "none"


def tenant_sections(user: User | AnonymousUser, slug: str) -> dict[str, Any]:
    """Context for `monitoring/_tenant_sections.html`."""
    snapshot = tenant_snapshot(user, slug)
    health = snapshot.health
    return {
        "snapshot": snapshot,
        "health": health,
        "pool": snapshot.pool,
        "sources": _sources(snapshot),
        "db_charts": _charts(health.db_series if health else None, DATABASE_CHARTS),
        "app_charts": _charts(health.app_series if health else None, APP_CHARTS),
        "pool_charts": _charts(snapshot.pool.series if snapshot.pool else None, POOL_CHARTS),
        "open_alerts": [alert for alert in snapshot.alerts if alert.is_open],
        "closed_alerts": [alert for alert in snapshot.alerts if not alert.is_open][:10],
        "posture_failures": sum(1 for check in snapshot.posture if not check.passed),
        "timeline": _timeline(user, snapshot),
        "can_restore": user.has_perm(REQUEST_RESTORE),
        # App configuration, PITR and LTR policy come with the daily posture read.
        # Deleted databases are listed only by the restore form's snapshot (backups app).
        "restore_snapshot": restore_snapshot_for(snapshot.tenant),
        "ltr_policy": ltr_policy_text(health.ltr_policy if health else {}),
        # Newest first; a weekly policy keeps 52 a year, so the rest wait behind a <details>.
        "ltr_newest": (health.ltr_backups or [])[:LTR_SHOWN] if health else [],
        "ltr_older": (health.ltr_backups or [])[LTR_SHOWN:] if health else [],
        "posture_read": health is not None and source_as_of(health, Source.POSTURE) is not None,
        "recommendations_read": (
            health is not None and source_as_of(health, RECOMMENDATIONS) is not None
        ),
    }
