"""One dashboard row per tenant, worked out in Python: the page shows 50 of them and every
template tag per cell would cost more than the queries do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone

from monitoring.freshness import age_in_words, is_stale
from monitoring.models import HealthStatus, Source, TenantHealth
from monitoring.sources import RECOMMENDATIONS, source_as_of
from portal.times import local_and_utc, portal_zone
from tenants.models import Tenant

HOT_POOL_PERCENT = 90.0
# A latest restore point older than this is shown as late (PITR log backups run every 5-10 min).
BACKUP_LATE_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Moment:
    iso: str
    ago: str
    exact: str
    stale: bool


@dataclass(frozen=True)
class FleetRow:
    slug: str
    display_name: str
    url: str
    status: str
    status_label: str
    reasons: list[str]
    collected: bool
    app_state: str
    app_notes: list[str]
    db_status: str
    db_cpu: str
    pool_name: str
    pool_use: str
    pool_hot: bool
    latest_backup: Moment | None
    # (css class, text) per severity with open alerts.
    alerts: list[tuple[str, str]]
    posture_failures: int
    # Posture is read daily, apart from the hot sources: until its first read the row has no
    # failures to count, which is not the same as passing.
    posture_checked: bool
    as_of: Moment | None
    # Defender's unhealthy recommendations (None until the hourly read has happened once).
    open_recommendations: int | None = None
    # Disaster recovery: None until assessed; the gaps in words; the tenant's DR tier.
    dr_ready: bool | None = None
    dr_gaps: tuple[str, ...] = ()
    dr_tier: int = 2
    # The region the tenant runs in when it is not at home (failed over); "" at home.
    runs_away_in: str = ""


def _percent(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.0f} %" if value >= 10 else f"{value:.1f} %"


def _moment(value: datetime | None, now: datetime, zone: ZoneInfo, *, stale: bool) -> Moment | None:
    if value is None:
        return None
    return Moment(value.isoformat(), age_in_words(value, now), local_and_utc(value, zone), stale)


def _alerts(health: TenantHealth) -> list[tuple[str, str]]:
    counts = (
        ("high", health.alerts_high, "high"),
        ("medium", health.alerts_medium, "med"),
        ("low", health.alerts_low, "low"),
        ("informational", health.alerts_informational, "info"),
    )
    return [(css, f"{count} {short}") for css, count, short in counts if count]


def _app_notes(health: TenantHealth) -> list[str]:
    notes = []
    if health.app_availability and health.app_availability != "Available":
        notes.append(health.app_availability)
    if health.app_5xx_24h:
        notes.append(f"{health.app_5xx_24h} 5xx / 24 h")
    return notes


def _dr(tenant: Tenant) -> dict[str, Any]:
    readiness = getattr(tenant, "dr_readiness", None)
    return {
        "dr_ready": readiness.ready if readiness is not None else None,
        "dr_gaps": tuple(readiness.gaps) if readiness is not None else (),
        "dr_tier": tenant.dr_tier,
        "runs_away_in": "" if tenant.active.at_home else tenant.active.region,
    }


def fleet_row(tenant: Tenant, now: datetime, zone: ZoneInfo) -> FleetRow:
    health: TenantHealth | None = getattr(tenant, "health", None)
    url = reverse("tenants:detail", args=[tenant.slug])
    if health is None:
        return FleetRow(
            tenant.slug, tenant.display_name, url, HealthStatus.UNKNOWN, "Unknown", [], False,
            "", [], "", "", "", "", False, None, [], 0, False, None, **_dr(tenant),
        )  # fmt: skip
    return FleetRow(
        slug=tenant.slug,
        display_name=tenant.display_name,
        url=url,
        status=health.status,
        status_label=health.get_status_display(),
        reasons=list(health.reasons or []),
        collected=True,
        app_state=health.app_state,
        app_notes=_app_notes(health),
        db_status=health.db_status,
        db_cpu=_percent(health.db_cpu_percent),
        pool_name=health.pool_name,
        pool_use=_percent(health.pool_use_percent),
        pool_hot=(health.pool_use_percent or 0.0) > HOT_POOL_PERCENT,
        latest_backup=_moment(
            health.backup_latest,
            now,
            zone,
            stale=health.backup_latest is not None
            and now - health.backup_latest > BACKUP_LATE_AFTER,
        ),
        alerts=_alerts(health),
        posture_failures=health.posture_failures,
        posture_checked=source_as_of(health, Source.POSTURE) is not None,
        as_of=_moment(health.as_of, now, zone, stale=is_stale(health.as_of)),
        open_recommendations=health.open_recommendations
        if source_as_of(health, RECOMMENDATIONS) is not None
        else None,
        **_dr(tenant),
    )


def fleet_rows(tenants: list[Tenant]) -> list[FleetRow]:
    now = timezone.now()
    zone = portal_zone()
    return [fleet_row(tenant, now, zone) for tenant in tenants]
