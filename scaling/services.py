"""Planning and requesting scaling changes. A plan reads Azure (the resource as it is, its last
24 h peaks), applies the guard rails (scaling/rules.py) and says what the change is and what it
costs; a request refuses what the plan refuses and files the operation (scaling/kinds.py), with
a second admin's approval when the cost rises past the threshold."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User

from operations.kinds import Subject
from operations.models import Operation
from operations.services import OperationRefusedError, operation_request
from portal.azure import scaling, sql, web
from scaling import rules
from scaling.kinds import (
    COSTLY,
    DATABASE_MOVE,
    PLAN_SCALE,
    POOL_SCALE,
    DatabaseMoveParameters,
    PlanScaleParameters,
    PoolScaleParameters,
    sql_same,
)
from tenants.models import Tenant
from tenants.selectors import active_copy, tenants_in_pool, tenants_on_sites


@dataclass(frozen=True)
class ScalingPlan:
    """What a change does, the numbers behind it, and why it may not go ahead."""

    parameters: Any
    lines: list[str]
    refusals: list[str] = field(default_factory=list)
    needs_second_admin: bool = False


def scaling_limits() -> rules.ScalingLimits:
    return rules.ScalingLimits.from_settings(getattr(settings, "SCALING_LIMITS", None))


def _is_vcore(sku_name: str) -> bool:
    return sku_name.startswith(("GP_", "BC_", "HS_"))


# -- plans -------------------------------------------------------------------------------------------


def plan_scale_plan(
    *, tenant: Tenant, target_sku: str, target_instances: int, override_reason: str = ""
) -> ScalingPlan:
    limits = scaling_limits()
    plan, cpu_peak, memory, sharing = _plan_read(tenant)
    cpu = cpu_peak or 0.0
    change = rules.PlanChange(plan.sku_name, plan.capacity, target_sku, target_instances, cpu)
    before = rules.plan_monthly_cost(plan.sku_name, plan.capacity, limits)
    after = rules.plan_monthly_cost(target_sku, target_instances, limits)
    lines = [
        f"{plan.name}: {plan.capacity} × {plan.sku_name} ({plan.sku_tier}) → "
        f"{target_instances} × {target_sku}.",
        f"Last 24 h peak: CPU {cpu:.0f}%"
        + (f", memory {memory:.0f}%." if memory is not None else "."),
        "Tenants on this plan: " + ", ".join(t.display_name for t in sharing) + ".",
        _cost_line(before, after),
    ]
    return ScalingPlan(
        parameters=PlanScaleParameters(
            plan_id=plan.id,
            sku=plan.sku_name,
            instances=plan.capacity,
            target_sku=target_sku,
            target_instances=target_instances,
            tenant_slugs=tuple(t.slug for t in sharing),
            override_reason=override_reason.strip(),
        ),
        lines=lines,
        refusals=rules.plan_change_refusals(change, limits, override_reason=override_reason),
        needs_second_admin=rules.needs_second_approval(before=before, after=after, limits=limits),
    )


@dataclass(frozen=True)
class ScalingNow:
    """What the tenant runs on now, read from Azure when the scaling form opens: the plan (SKU,
    instances, the most its tier allows, who shares it, its 24 h peaks) and the database's place."""

    plan: scaling.PlanInfo
    cpu_peak: float | None
    memory_peak: float | None
    sharing: tuple[str, ...]
    database: sql.DatabaseInfo

    @property
    def pool_name(self) -> str:
        return (self.database.elastic_pool_id or "").rstrip("/").rsplit("/", 1)[-1]


def active_plan_id(tenant: Tenant) -> str:
    """The plan of the app the tenant runs on now: its home plan, or after a failover the
    standby's (one read: the catalogue records the standby site, not its plan)."""
    active = active_copy(tenant)
    if active.at_home:
        return tenant.app_service_plan_id
    return web.site_get(active.site_id).server_farm_id


def _plan_read(tenant: Tenant) -> tuple[scaling.PlanInfo, float | None, float | None, list[Tenant]]:
    """The plan the tenant runs on now as Azure has it (two reads: the plan and its sites; one
    more when away), its 24 h CPU and memory peaks (one read each), and every tenant on it."""
    plan = scaling.plan_get(active_plan_id(tenant))
    sharing = list(tenants_on_sites(plan.site_ids).order_by("slug"))
    return (
        plan,
        scaling.metric_peak(plan.id, "CpuPercentage"),
        scaling.metric_peak(plan.id, "MemoryPercentage"),
        sharing,
    )


def scaling_now(*, tenant: Tenant) -> ScalingNow:
    """Five ARM reads: the plan and its sites, two 24 h peaks, the database."""
    plan, cpu, memory, sharing = _plan_read(tenant)
    return ScalingNow(
        plan=plan,
        cpu_peak=cpu,
        memory_peak=memory,
        sharing=tuple(t.display_name for t in sharing),
        database=sql.database_get(active_copy(tenant).database_id),
    )


def _cost_line(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return "Monthly cost: unknown for this SKU (a second admin approves)."
    return f"Monthly cost: {before:,.0f} → {after:,.0f} ({after - before:+,.0f})."


def database_move_plan(
    *,
    tenant: Tenant,
    to_pool_id: str = "",
    sku_name: str = "",
    sku_tier: str = "",
    override_reason: str = "",
) -> ScalingPlan:
    """Into another pool on the tenant's server (with its headroom), or out to `sku_name`."""
    limits = scaling_limits()
    database = sql.database_get(active_copy(tenant).database_id)
    used = scaling.metric_peak(database.id, "storage", hours=1) or 0.0
    lines = [f"{database.name} is in {database.elastic_pool_id or database.service_objective}."]
    refusals: list[str] = []
    if to_pool_id:
        pool = sql.elastic_pool_get(to_pool_id)
        if not pool.id.lower().startswith(database.server_id.lower() + "/"):
            raise OperationRefusedError("The target pool must be on the tenant's server.")
        if sql_same(pool.id, database.elastic_pool_id):
            raise OperationRefusedError(f"{database.name} is in {pool.name} already.")
        room = _pool_room(pool)
        incoming = rules.Incoming(database.name, int(used), peak_used=_database_peak(database))
        refusals = rules.pool_headroom_refusals(room, incoming)
        lines.append(
            f"{pool.name}: {pool.capacity} {'vCores' if room.vcore else 'eDTU'}, storage "
            f"{room.used_bytes / rules.GB:.1f} of {room.max_size_bytes / rules.GB:.1f} GB, 24 h "
            f"peak {room.peak_used:.0f}, per database max {room.per_database_max:g}; "
            f"{database.name} holds {used / rules.GB:.1f} GB."
        )
        if refusals and override_reason.strip():
            # Storage overflow cannot be overridden: Azure refuses it too.
            refusals = [r for r in refusals if "storage" in r]
    else:
        if sku_name not in limits.single_database_skus:
            refusals.append(
                f"{sku_name or '(none)'} is not an allowed single-database objective; allowed: "
                + ", ".join(limits.single_database_skus)
                + "."
            )
        lines.append(f"Out of its pool to the single-database objective {sku_name}.")
    return ScalingPlan(
        parameters=DatabaseMoveParameters(
            database_id=database.id,
            from_pool_id=database.elastic_pool_id or "",
            to_pool_id=to_pool_id,
            sku_name="" if to_pool_id else sku_name,
            sku_tier="" if to_pool_id else sku_tier,
            override_reason=override_reason.strip(),
        ),
        lines=lines,
        refusals=refusals,
    )


def _pool_room(pool: sql.PoolInfo) -> rules.PoolRoom:
    vcore = _is_vcore(pool.sku_name)
    return rules.PoolRoom(
        name=pool.name,
        vcore=vcore,
        capacity=int(pool.capacity or 0),
        max_size_bytes=int(pool.max_size_bytes or 0),
        per_database_max=float(pool.per_database_max_capacity or 0),
        used_bytes=int(scaling.metric_peak(pool.id, "storage_used", hours=1) or 0),
        peak_used=scaling.metric_peak(pool.id, "cpu_used" if vcore else "eDTU_used") or 0.0,
    )


def _database_peak(database: sql.DatabaseInfo) -> float:
    """The database's 24 h peak in its pool's unit: its DTU % of the pool's per-database max."""
    percent = scaling.metric_peak(database.id, "dtu_consumption_percent") or 0.0
    if not database.elastic_pool_id:
        return 0.0
    source = sql.elastic_pool_get(database.elastic_pool_id)
    return percent / 100 * float(source.per_database_max_capacity or 0)


def pool_scale_plan(
    *,
    pool_id: str,
    target_capacity: int,
    per_database_min: float | None = None,
    per_database_max: float | None = None,
    override_reason: str = "",
) -> ScalingPlan:
    limits = scaling_limits()
    pool = sql.elastic_pool_get(pool_id)
    vcore = _is_vcore(pool.sku_name)
    room = _pool_room(pool)
    members = tenants_in_pool(pool.id).order_by("slug")
    target_max = (
        per_database_max
        if per_database_max is not None
        else min(float(pool.per_database_max_capacity or 0), target_capacity)
    )
    target_min = (
        per_database_min if per_database_min is not None else pool.per_database_min_capacity or 0
    )
    change = rules.PoolChange(
        vcore,
        int(pool.capacity or 0),
        target_capacity,
        room.peak_used,
        room.per_database_max,
        target_max,
    )
    before = rules.pool_monthly_cost(int(pool.capacity or 0), vcore=vcore, limits=limits)
    after = rules.pool_monthly_cost(target_capacity, vcore=vcore, limits=limits)
    unit = "vCores" if vcore else "eDTU"
    lines = [
        f"{pool.name}: {pool.capacity} → {target_capacity} {unit}; per database "
        f"{target_min:g}–{target_max:g}.",
        f"Last 24 h peak: {room.peak_used:.0f} {unit}.",
        "Tenants in this pool: " + (", ".join(t.display_name for t in members) or "none") + ".",
        _cost_line(before, after),
    ]
    return ScalingPlan(
        parameters=PoolScaleParameters(
            pool_id=pool.id,
            capacity=int(pool.capacity or 0),
            target_capacity=target_capacity,
            per_database_min=float(pool.per_database_min_capacity or 0),
            per_database_max=float(pool.per_database_max_capacity or 0),
            target_per_database_min=float(target_min),
            target_per_database_max=float(target_max),
            tenant_slugs=tuple(t.slug for t in members),
            override_reason=override_reason.strip(),
        ),
        lines=lines,
        refusals=rules.pool_change_refusals(change, limits, override_reason=override_reason),
        needs_second_admin=rules.needs_second_approval(before=before, after=after, limits=limits),
    )


# -- requests ----------------------------------------------------------------------------------------


def scaling_request(
    *,
    plan: ScalingPlan,
    kind: str,
    subject: Subject,
    tenant: Tenant | None,
    requested_by: User,
    reason: str,
) -> Operation:
    """File the planned change; refused (nothing changed) if the plan has refusals."""
    if plan.refusals:
        raise OperationRefusedError(" ".join(plan.refusals))
    return operation_request(
        kind=kind + (COSTLY if plan.needs_second_admin else ""),
        subject=subject,
        tenant=tenant,
        parameters=plan.parameters,
        requested_by=requested_by,
        reason=reason,
    )


def plan_scale_request(
    *, tenant: Tenant, requested_by: User, reason: str, plan: ScalingPlan
) -> Operation:
    return scaling_request(
        plan=plan,
        kind=PLAN_SCALE,
        subject=Subject(Operation.Subject.TENANT, tenant.slug, tenant.display_name),
        tenant=tenant,
        requested_by=requested_by,
        reason=reason,
    )


def database_move_request(
    *, tenant: Tenant, requested_by: User, reason: str, plan: ScalingPlan
) -> Operation:
    return scaling_request(
        plan=plan,
        kind=DATABASE_MOVE,
        subject=Subject(Operation.Subject.TENANT, tenant.slug, tenant.display_name),
        tenant=tenant,
        requested_by=requested_by,
        reason=reason,
    )


def pool_scale_request(*, requested_by: User, reason: str, plan: ScalingPlan) -> Operation:
    parameters: PoolScaleParameters = plan.parameters
    name = parameters.pool_id.rstrip("/").rsplit("/", 1)[-1]
    return scaling_request(
        plan=plan,
        kind=POOL_SCALE,
        subject=Subject(Operation.Subject.ELASTIC_POOL, parameters.pool_id, name),
        tenant=None,
        requested_by=requested_by,
        reason=reason,
    )
