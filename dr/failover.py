"""Region failover: one fleet operation whose children fail each tenant over to Australia
Southeast, highest tier first, with restores kept at Azure's concurrency limits.

The parent (`region_failover`, subject: the region) is declared by an admin and approved by a
second one. Its first step fixes the order (tier, then slug) of the region's tenants still at
home; its second starts children as restore slots free up (`dr.failover_schedule`) and waits
until every child has finished. Each child (`tenant_failover`) geo-restores the tenant's
database into its planned paired pool, sets the standby app up against it, starts it, checks
it and records where the tenant now runs (`dr.failover_steps`); a tenant whose database has a
geo-secondary on the paired server instead fails its replication link over, taking no restore
slot.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from backups.restores import restores_in_pool
from dr.failover_schedule import Pending, choose, held_slots, pool_key, subscription_key
from dr.models import DrReadiness
from dr.outage import PAIRED_REGION, REGION_LABELS, region_tenants
from operations.context import StepContext, StepFailedError
from operations.fleet import ChildRequest, child_create, children_counts, children_plan_record
from operations.kinds import Limit, OperationKind, Step, StepResult, Wait, register
from operations.models import Operation
from portal.resource_ids import parse
from portal.roles import APPROVE_OPERATION
from tenants.models import Tenant

REGION_FAILOVER = "region_failover"
TENANT_FAILOVER = "tenant_failover"
# How often a parent with work left looks again even when no child woke it: a wake-up that
# arrives while the parent is mid-visit is dropped (its lease is held), and slots freed then
# would otherwise idle until the next look.
LOOK_AGAIN_SECONDS = 1.0


@dataclass(frozen=True)
class RegionFailoverParameters:
    region: str
    # "resource_health": Resource Health showed the region down when declared; "declared": an
    # admin declared it on their own judgement (the reason says why).
    basis: str
    evidence: str


@dataclass(frozen=True)
class TenantFailoverParameters:
    """One tenant's failover: where its database comes from and where everything lands."""

    slug: str
    tier: int
    subscription_id: str
    source_server_id: str
    database_name: str
    target_region: str
    target_pool_id: str
    standby_site_id: str
    # Why a target is missing, from the DR readiness check (shown when the child fails).
    gaps: list[str] = field(default_factory=list)
    # The database's own TDE protector and identities as readiness last read them (the primary
    # cannot be read during the outage); None when it uses its server's key.
    encryption_protector: str | None = None
    identity_ids: list[str] = field(default_factory=list)
    # The database's geo-secondary on the paired server, when readiness found one: the child
    # fails its replication link over instead of geo-restoring (no restore slot).
    geo_secondary_id: str = ""
    # Without a standby site: how to build it (dr.standby.StandbyRecipe as JSON).
    standby_recipe: dict[str, Any] = field(default_factory=dict)

    @property
    def by_link(self) -> bool:
        return bool(self.geo_secondary_id)

    @property
    def target_server_id(self) -> str:
        if self.geo_secondary_id:
            return str(parse(self.geo_secondary_id).parent)
        return str(parse(self.target_pool_id).parent) if self.target_pool_id else ""

    @property
    def target_database_id(self) -> str:
        return f"{self.target_server_id}/databases/{self.database_name}"

    @property
    def recoverable_database_id(self) -> str:
        return f"{self.source_server_id}/recoverableDatabases/{self.database_name}"


def tenant_failover_parameters(tenant: Tenant) -> TenantFailoverParameters:
    """The child's parameters from the catalogue and the tenant's DR readiness row."""
    readiness: DrReadiness | None = getattr(tenant, "dr_readiness", None)
    return TenantFailoverParameters(
        slug=tenant.slug,
        tier=tenant.dr_tier,
        subscription_id=tenant.subscription_id,
        source_server_id=tenant.sql_server_id,
        database_name=tenant.database_name,
        target_region=PAIRED_REGION,
        target_pool_id=readiness.paired_pool_id if readiness else "",
        standby_site_id=_standby_site_id(readiness),
        gaps=list(readiness.gaps) if readiness else ["DR readiness was never assessed."],
        encryption_protector=(readiness.key_uri or None) if readiness else None,
        identity_ids=list(readiness.key_identity_ids) if readiness else [],
        geo_secondary_id=readiness.geo_secondary_id if readiness else "",
        standby_recipe=_standby_recipe(readiness),
    )


def _standby_recipe(readiness: DrReadiness | None) -> dict[str, Any]:
    if readiness is None or readiness.standby_site_id:
        return {}
    return dict(readiness.standby_recipe)


def _standby_site_id(readiness: DrReadiness | None) -> str:
    """The standby that exists, or the one its recipe will build."""
    if readiness is None:
        return ""
    return readiness.standby_site_id or readiness.standby_recipe.get("site_id", "")


def failover_limits(parameters: TenantFailoverParameters) -> list[Limit]:
    """The same restore slots as any restore into that pool and subscription; none for a
    failover of a replication link (it is not a restore)."""
    if parameters.by_link:
        return []
    limits = [
        Limit(
            subscription_key(parameters.subscription_id),
            int(settings.RESTORE_MAX_PER_SUBSCRIPTION),
            "restores in this subscription",
        )
    ]
    if parameters.target_pool_id:
        limits.insert(0, restores_in_pool(parameters.target_pool_id))
    return limits


# -- the parent's steps ------------------------------------------------------------------------


def scope(context: StepContext) -> str:
    """Fix the order once: the region's tenants still at home, tier 1 first, with the restore
    slots (pool, subscription) each will need."""
    p = context.parameters(RegionFailoverParameters)
    if context.get("failover_order") is None:
        tenants = list(
            Tenant.objects.filter(region_tenants(p.region), active_database_id="")
            .order_by("dr_tier", "slug")
            .values_list("slug", "dr_tier")
        )
        order = [slug for slug, _ in tenants]
        by_tier = Counter(str(tier) for _, tier in tenants)
        context.save(failover_order=order, planned_by_tier=dict(by_tier), **_places(order))
    order = context.get("failover_order")
    children_plan_record(context, len(order))
    tiers = ", ".join(
        f"tier {tier}: {n}" for tier, n in sorted(context.get("planned_by_tier").items())
    )
    return f"{len(order)} tenants to fail over ({tiers or 'none'})."


def _places(order: list[str]) -> dict[str, list[Any]]:
    """Where each tenant of the order will take its restore slots, kept with the order so a
    visit reads no tenant rows: the distinct (pool key, subscription key) pairs, and per tenant
    the index of its pair and its tier (a pair of empty keys: no slot, a failover of a
    replication link). Taken from DR readiness when the order is fixed; each
    child still takes the slots of its own parameters, so a readiness change meanwhile costs
    at worst a child waiting at admission, never a slot over the limits."""
    rows = {
        # A failover of a replication link (geo-secondary) is no restore: it takes no slot.
        slug: (tier, "", "")
        if secondary
        else (tier, pool_key(pool_id or ""), subscription_key(subscription_id))
        for slug, tier, subscription_id, pool_id, secondary in Tenant.objects.filter(
            slug__in=order
        ).values_list(
            "slug",
            "dr_tier",
            "subscription_id",
            "dr_readiness__paired_pool_id",
            "dr_readiness__geo_secondary_id",
        )
    }
    pairs: dict[tuple[str, str], int] = {}
    places = []
    for slug in order:
        tier, pool, subscription = rows.get(slug, (0, "", ""))
        places.append([pairs.setdefault((pool, subscription), len(pairs)), tier])
    return {"failover_slots": [list(pair) for pair in pairs], "failover_places": places}


def _pending(context: StepContext) -> list[Pending]:
    """The tenants of the plan not started yet, in its order, with where each restore lands.

    The parent looks on every child's wake-up: a visit reads the children's subjects and the
    plan, not every pending tenant's row (at fleet scale that cost more than the slot it was
    refilling)."""
    parent = context.operation
    if context.get("failover_places") is None:  # planned before the places were kept
        context.save(**_places(context.get("failover_order", [])))
    started = set(parent.children.values_list("subject_id", flat=True))
    started |= {r.get("slug", "") for r in context.get("children_refused", [])}
    slots = context.get("failover_slots")
    return [
        Pending(slug=slug, tier=tier, pool_key=slots[i][0], subscription_key=slots[i][1])
        for slug, (i, tier) in zip(
            context.get("failover_order", []), context.get("failover_places"), strict=True
        )
        if slug not in started
    ]


def _queued_keys(parent: Operation) -> Counter[str]:
    """Slots the parent's children queued but not yet admitted will take."""
    taken: Counter[str] = Counter()
    for values in parent.children.filter(state=Operation.State.QUEUED).values_list(
        "parameters", flat=True
    ):
        if values.get("geo_secondary_id"):
            continue
        taken.update(
            k
            for k in (
                pool_key(values.get("target_pool_id", "")),
                subscription_key(values.get("subscription_id", "")),
            )
            if k
        )
    return taken


def _start(context: StepContext, tenant: Tenant) -> None:
    from operations.services import tenant_subject

    request = ChildRequest(
        TENANT_FAILOVER, tenant_subject(tenant), tenant_failover_parameters(tenant), tenant
    )
    with transaction.atomic():
        refusal = child_create(context, request)
        if refusal:
            refused = [
                *context.get("children_refused", []),
                {
                    "slug": tenant.slug,
                    "tier": tenant.dr_tier,
                    "subject": tenant.display_name,
                    "reason": refusal,
                },
            ]
            context.save(children_refused=refused)


def fail_over(context: StepContext) -> StepResult:
    """Start every tenant whose restore has room now, then wait for the rest."""
    parent = context.operation
    pending = _pending(context)
    chosen = choose(pending, held_slots() + _queued_keys(parent))
    tenants = (
        Tenant.objects.filter(slug__in=[item.slug for item in chosen])
        .select_related("dr_readiness")
        .in_bulk(field_name="slug")
    )
    for item in chosen:
        _start(context, tenants[item.slug])
    counts = children_counts(parent, planned=len(context.get("failover_order", [])))
    waiting = len(pending) - len(chosen)
    if waiting or parent.children.filter(state__in=Operation.ACTIVE_STATES).exists():
        return Wait(
            LOOK_AGAIN_SECONDS,
            f"{counts.finished} of {counts.planned} finished, {counts.running} running, "
            f"{waiting} waiting for a restore slot.",
        )
    if counts.failed or counts.refused:
        moved = counts.by_state.get(Operation.State.SUCCEEDED, 0)
        if moved:
            context.outcome_if_failed(
                f"{moved} of {counts.planned} tenants now run in Australia Southeast; "
                "the others were not failed over and are listed with their reasons."
            )
        raise StepFailedError(
            f"{counts.summary()} Failed tenants are listed with their reasons.",
            code="TenantsFailed",
        )
    return counts.summary()


def tier_progress(parent: Operation) -> list[dict[str, int]]:
    """Done / running / queued / failed per tier, for the progress page (one query)."""
    planned = {int(k): v for k, v in parent.checkpoint.get("planned_by_tier", {}).items()}
    rows = (
        parent.children.values_list("tenant__dr_tier", "state").annotate(n=Count("id")).order_by()
    )
    found: dict[int, Counter[str]] = {}
    for tier, state, n in rows:
        found.setdefault(tier, Counter())[state] = n
    refused = Counter(r.get("tier", 0) for r in parent.checkpoint.get("children_refused", []))
    table = []
    for tier in sorted(set(planned) | set(found)):
        states = found.get(tier, Counter())
        done = states[Operation.State.SUCCEEDED]
        failed = states[Operation.State.FAILED] + states[Operation.State.CANCELLED] + refused[tier]
        running = states[Operation.State.RUNNING]
        started = sum(states.values()) + refused[tier]
        table.append(
            {
                "tier": tier,
                "planned": planned.get(tier, started),
                "done": done,
                "running": running,
                "queued": planned.get(tier, started) - done - failed - running,
                "failed": failed,
            }
        )
    return table


def _parent_plan(operation: Operation) -> list[Step]:
    region = REGION_LABELS.get(operation.subject_id, operation.subject_id)
    return [
        Step("scope", f"Choose {region}'s tenants to fail over, tier 1 first", scope),
        Step(
            "fail_over",
            "Fail each tenant over to Australia Southeast (restores at Azure's limits)",
            fail_over,
        ),
    ]


def register_kinds() -> None:
    from dr.failover_steps import child_plan, failover_cancel

    register(
        OperationKind(
            name=REGION_FAILOVER,
            label="Region failover",
            permission=APPROVE_OPERATION,
            # Moving the whole fleet is never one person's decision.
            needs_approval=lambda: True,
            plan=_parent_plan,
            parameters=RegionFailoverParameters,
            pausable=True,
            untouched_outcome="No tenant was failed over.",
            # It hands out restore slots; a child wakes it when it gives its slot back.
            woken_by_finishing_children=False,
        )
    )
    register(
        OperationKind(
            name=TENANT_FAILOVER,
            label="Tenant failover",
            permission=APPROVE_OPERATION,
            needs_approval=lambda: True,
            plan=child_plan,
            parameters=TenantFailoverParameters,
            limits=failover_limits,
            cancel_running=failover_cancel,
            untouched_outcome="The tenant was not failed over; nothing was created.",
        )
    )
