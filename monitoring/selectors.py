"""Permission-carrying reads of the monitoring snapshots. Every view reads through these.

A person sees the tenants `tenants.selectors.tenants_visible_to` gives them (an account manager
limited to assignments sees only those), and everything about other tenants stays hidden: a
tenant, alert or pool they may not see answers 404 so names do not leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower
from django.http import Http404
from django.utils import timezone

from monitoring.models import (
    DefenderAlert,
    HealthStatus,
    PoolSnapshot,
    PostureCheck,
    StatusChange,
    TenantHealth,
)
from tenants.models import Tenant
from tenants.selectors import tenant_for_user, tenants_visible_to

TIMELINE_DAYS = 30


def fleet_for_user(user: User | AnonymousUser) -> QuerySet[Tenant]:
    """The tenants a person may see with their health row joined in (one query for a page).

    A tenant never refreshed has no health row: `tenant.health` raises, so read it with
    `getattr(tenant, "health", None)`; filter such tenants as Unknown with `health_status_q`.
    """
    return tenants_visible_to(user).select_related("health", "dr_readiness")


def health_status_q(status: str) -> Q:
    """Filter for `fleet_for_user` by status; Unknown includes tenants never refreshed."""
    if status == HealthStatus.UNKNOWN:
        return Q(health__status=status) | Q(health__isnull=True)
    return Q(health__status=status)


def fleet_counts(user: User | AnonymousUser) -> dict[str, int]:
    """How many of the person's tenants are in each status (one query), plus "total"."""
    totals = tenants_visible_to(user).aggregate(
        total=Count("pk"),
        **{
            status.value: Count("pk", filter=health_status_q(status.value))
            for status in HealthStatus
        },
    )
    return {key: int(value or 0) for key, value in totals.items()}


@dataclass(frozen=True)
class TenantSnapshot:
    """Everything the tenant page shows, read in a fixed handful of queries."""

    tenant: Tenant
    health: TenantHealth | None
    pool: PoolSnapshot | None
    alerts: list[DefenderAlert]
    posture: list[PostureCheck]
    status_changes: list[StatusChange]


def tenant_snapshot(user: User | AnonymousUser, slug: str) -> TenantSnapshot:
    """The tenant's snapshot if the person may see it (404 otherwise, 403 without the role)."""
    tenant = tenant_for_user(user, slug)
    health = TenantHealth.objects.filter(tenant=tenant).first()
    # The pool of the copy it runs on now (its Australia Southeast pool after a failover).
    pool = PoolSnapshot.objects.filter(pool_id=tenant.active.elastic_pool_id.lower()).first()
    since = timezone.now() - timedelta(days=TIMELINE_DAYS)
    return TenantSnapshot(
        tenant=tenant,
        health=health,
        pool=pool,
        alerts=list(tenant.defender_alerts.order_by("-generated_at")),
        posture=list(tenant.posture_checks.order_by("passed", "check_name")),
        status_changes=list(tenant.status_changes.filter(at__gte=since).order_by("-at")),
    )


def pools_for_user(user: User | AnonymousUser) -> QuerySet[PoolSnapshot]:
    """Pools hosting at least one tenant the person may see.

    `database_shares` names every tenant in the pool; pages showing it to someone limited to
    assigned tenants filter it with `visible_slugs(user)`.
    """
    pool_ids = (
        tenants_visible_to(user).annotate(pool_lower=Lower("elastic_pool_id")).values("pool_lower")
    )
    return PoolSnapshot.objects.filter(pool_id__in=pool_ids)


def visible_slugs(user: User | AnonymousUser) -> set[str]:
    return set(tenants_visible_to(user).values_list("slug", flat=True))


def alerts_for_user(user: User | AnonymousUser) -> QuerySet[DefenderAlert]:
    """Defender alerts on the person's tenants, newest first, tenant joined in."""
    return (
        DefenderAlert.objects.filter(tenant__in=tenants_visible_to(user).values("pk"))
        .select_related("tenant")
        .order_by("-generated_at")
    )


def alert_for_user(user: User | AnonymousUser, pk: int) -> DefenderAlert:
    """One alert on a tenant the person may see, or 404."""
    try:
        return alerts_for_user(user).get(pk=pk)
    except DefenderAlert.DoesNotExist as exc:
        raise Http404(f"No alert {pk}.") from exc


def posture_failures_for_user(user: User | AnonymousUser) -> QuerySet[PostureCheck]:
    """Failed posture checks across the person's tenants, by tenant then check."""
    return (
        PostureCheck.objects.filter(passed=False, tenant__in=tenants_visible_to(user).values("pk"))
        .select_related("tenant")
        .order_by("tenant__slug", "check_name")
    )


def posture_read_for_user(user: User | AnonymousUser) -> bool:
    """Whether any posture check has been read for the person's tenants (an empty failure list
    means "all pass" only then)."""
    return PostureCheck.objects.filter(tenant__in=tenants_visible_to(user).values("pk")).exists()
