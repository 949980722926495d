"""Permission-carrying reads for the DR pages: a person sees readiness for the tenants
`tenants_visible_to` gives them and nothing about the others."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from dr.models import DrDrill, DrReadiness, DrRepatriation
from tenants.models import Tenant
from tenants.selectors import tenants_visible_to


def dr_fleet_for_user(user: User | AnonymousUser) -> QuerySet[Tenant]:
    """The person's tenants with their readiness row joined in (one query for a page).

    A tenant never assessed has no row: read it with `getattr(tenant, "dr_readiness", None)`."""
    return tenants_visible_to(user).select_related("dr_readiness")


def tenants_away_for_user(user: User | AnonymousUser) -> QuerySet[Tenant]:
    """The person's tenants running away from home (failed over), tier 1 first: the ones
    "Bring home" offers."""
    return dr_fleet_for_user(user).exclude(active_database_id="").order_by("dr_tier", "slug")


@dataclass(frozen=True)
class TierCount:
    tier: int
    label: str
    ready: int
    gaps: int
    unassessed: int


def tier_counts(fleet: QuerySet[Tenant]) -> list[TierCount]:
    """Ready / with gaps / not yet assessed, per DR tier, in one query."""
    found = {
        row["dr_tier"]: row
        for row in fleet.order_by()
        .values("dr_tier")
        .annotate(
            ready=Count("pk", filter=Q(dr_readiness__ready=True)),
            gaps=Count("pk", filter=Q(dr_readiness__ready=False)),
            unassessed=Count("pk", filter=Q(dr_readiness__isnull=True)),
        )
    }
    return [
        TierCount(
            tier,
            label,
            found.get(tier, {}).get("ready", 0),
            found.get(tier, {}).get("gaps", 0),
            found.get(tier, {}).get("unassessed", 0),
        )  # fmt: skip
        for tier, label in Tenant.DrTier.choices
    ]


def readiness_for(tenant: Tenant) -> DrReadiness | None:
    return DrReadiness.objects.filter(tenant=tenant).first()


def with_last_drill(tenants: QuerySet[Tenant]) -> QuerySet[Tenant]:
    """Each tenant's last successful drill (when, RTO, RPO) annotated in: one query a page."""
    last = DrDrill.objects.filter(tenant=OuterRef("pk")).order_by("-healthy_at")
    return tenants.annotate(
        last_drill_at=Subquery(last.values("healthy_at")[:1]),
        last_drill_rto=Subquery(last.values("rto_seconds")[:1]),
        last_drill_rpo=Subquery(last.values("rpo_seconds")[:1]),
    )


def last_drill(tenants: QuerySet[Tenant]) -> DrDrill | None:
    """The newest successful drill among these tenants."""
    return (
        DrDrill.objects.filter(tenant__in=tenants)
        .select_related("tenant")
        .order_by("-healthy_at")
        .first()
    )


def last_repatriation(tenants: QuerySet[Tenant]) -> DrRepatriation | None:
    """The newest repatriation among these tenants (with its downtime)."""
    return (
        DrRepatriation.objects.filter(tenant__in=tenants)
        .select_related("tenant")
        .order_by("-healthy_at")
        .first()
    )
