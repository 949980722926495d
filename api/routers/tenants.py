"""Tenants: the fleet with its status, and one tenant with its snapshots and restore window.
Read through the monitoring and backups selectors, so people see what the pages show them."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from api.auth import caller_user
from api.schemas import TenantDetail, TenantPage
from api.serialise import tenant_detail, tenant_summary
from backups.selectors import restore_snapshot_for
from monitoring.models import HealthStatus
from monitoring.selectors import fleet_for_user, health_status_q, tenant_snapshot
from tenants.models import Tenant

router = Router(tags=["tenants"])


class TenantFilters(Schema):
    status: HealthStatus | None = None
    q: str = ""
    pool: str = ""
    region: str = ""
    account_manager: str = ""
    has_alerts: bool | None = None
    posture_failures: bool | None = None
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=200)


def _filtered(fleet: QuerySet[Tenant], filters: TenantFilters) -> QuerySet[Tenant]:
    if filters.q.strip():
        term = filters.q.strip()
        fleet = fleet.filter(Q(slug__icontains=term) | Q(display_name__icontains=term))
    if filters.status:
        fleet = fleet.filter(health_status_q(filters.status))
    if filters.pool:
        fleet = fleet.filter(health__pool_name=filters.pool)
    if filters.region:
        fleet = fleet.filter(region=filters.region)
    if filters.account_manager:
        fleet = fleet.filter(account_manager__username=filters.account_manager)
    if filters.has_alerts is not None:
        alerts = (
            Q(health__alerts_high__gt=0)
            | Q(health__alerts_medium__gt=0)
            | Q(health__alerts_low__gt=0)
            | Q(health__alerts_informational__gt=0)
        )
        fleet = fleet.filter(alerts) if filters.has_alerts else fleet.exclude(alerts)
    if filters.posture_failures is not None:
        failing = Q(health__posture_failures__gt=0)
        fleet = fleet.filter(failing) if filters.posture_failures else fleet.exclude(failing)
    return fleet


@router.get("/tenants", response=TenantPage, summary="The tenants you may see, with status")
def tenant_list(request: HttpRequest, filters: Query[TenantFilters]) -> dict[str, Any]:
    user = caller_user(request)
    offset, limit = filters.offset, filters.limit
    fleet = _filtered(fleet_for_user(user), filters).order_by("slug")
    return {
        "count": fleet.count(),
        "offset": offset,
        "limit": limit,
        "items": [tenant_summary(t) for t in fleet[offset : offset + limit]],
    }


@router.get(
    "/tenants/{slug}",
    response=TenantDetail,
    summary="One tenant: health, pool, backups and restore window, alerts, posture",
)
def tenant_get(request: HttpRequest, slug: str) -> dict[str, Any]:
    snapshot = tenant_snapshot(caller_user(request), slug)
    return tenant_detail(snapshot, restore_snapshot_for(snapshot.tenant))
