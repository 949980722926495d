"""Scaling as operations: an App Service plan (SKU and instances), a tenant's database placement
(another pool on its server, or out to a single-database objective and back) and an elastic
pool (capacity, per-database min/max). Each runs check → Azure LRO → verify, and undoes the
change if the verification fails.

A change over the cost threshold needs a second admin: the engine asks a kind, not an operation,
whether approval is needed, so each kind is registered twice, plain and `<name>_costly`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from backups.restores import restores_in_pool
from operations.context import StepContext, StepFailedError, lro_settled
from operations.kinds import Limit, OperationKind, Step, StepResult, register
from operations.models import Operation
from portal.azure import scaling, sql, tde, web
from portal.roles import SCALE_TENANT
from tenants.services import tenant_pool_record

PLAN_SCALE = "plan_scale"
DATABASE_MOVE = "database_move"
POOL_SCALE = "pool_scale"
COSTLY = "_costly"


@dataclass(frozen=True)
class PlanScaleParameters:
    plan_id: str
    sku: str
    instances: int
    target_sku: str
    target_instances: int
    # Every tenant whose site runs on the plan (all are scaled, all are locked).
    tenant_slugs: tuple[str, ...] = ()
    override_reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tenant_slugs", tuple(self.tenant_slugs))


@dataclass(frozen=True)
class DatabaseMoveParameters:
    database_id: str
    from_pool_id: str
    # Another pool on the same server, or "" to leave pools for `sku_name`.
    to_pool_id: str = ""
    sku_name: str = ""
    sku_tier: str = ""
    override_reason: str = ""


@dataclass(frozen=True)
class PoolScaleParameters:
    pool_id: str
    capacity: int
    target_capacity: int
    per_database_min: float
    per_database_max: float
    target_per_database_min: float
    target_per_database_max: float
    tenant_slugs: tuple[str, ...] = ()
    override_reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tenant_slugs", tuple(self.tenant_slugs))


# -- plan scale --------------------------------------------------------------------------------------


def plan_check(context: StepContext) -> StepResult:
    p = context.parameters(PlanScaleParameters)
    plan = scaling.plan_get(p.plan_id)
    if (plan.sku_name, plan.capacity) != (p.sku, p.instances):
        raise StepFailedError(
            f"The plan is {plan.capacity} × {plan.sku_name} now, not the {p.instances} × {p.sku} "
            "the request was planned on: request it again.",
            code="PlanChanged",
        )
    running = [s for s in plan.site_ids if web.site_get(s).is_running]
    context.save(running_sites=running)
    return f"{plan.name} is {p.instances} × {p.sku}, {len(plan.site_ids)} site(s)."


def plan_scale(context: StepContext) -> StepResult:
    p = context.parameters(PlanScaleParameters)
    context.outcome_if_failed(f"The plan stays {p.instances} × {p.sku}.")
    if not context.get("scale_token"):
        context.save(
            scale_token=scaling.plan_scale_begin(
                p.plan_id, sku_name=p.target_sku, capacity=p.target_instances
            )
        )
    token = str(context.get("scale_token"))
    waiting = lro_settled(
        scaling.plan_scale_wait(p.plan_id, token, timeout_seconds=0), "Scaling the plan…"
    )
    context.outcome_if_rolled_back(f"The plan was scaled back to {p.instances} × {p.sku}.")
    return waiting or f"Scaled to {p.target_instances} × {p.target_sku}."


def plan_scale_back(context: StepContext) -> str:
    p = context.parameters(PlanScaleParameters)
    token = scaling.plan_scale_begin(p.plan_id, sku_name=p.sku, capacity=p.instances)
    if not scaling.plan_scale_wait(p.plan_id, token, timeout_seconds=120).succeeded:
        raise StepFailedError("Scaling the plan back failed.")
    return f"Scaled back to {p.instances} × {p.sku}."


def plan_verify(context: StepContext) -> StepResult:
    p = context.parameters(PlanScaleParameters)
    plan = scaling.plan_get(p.plan_id)
    if (plan.sku_name.lower(), plan.capacity) != (p.target_sku.lower(), p.target_instances):
        raise StepFailedError(
            f"The plan reports {plan.capacity} × {plan.sku_name}.", code="ScaleNotInEffect"
        )
    stopped = [s for s in context.get("running_sites", []) if not web.site_get(s).is_running]
    if stopped:
        raise StepFailedError(
            "Not running after the scale: " + ", ".join(s.rsplit("/", 1)[-1] for s in stopped),
            code="SiteNotRunning",
        )
    return f"In effect: {plan.capacity} × {plan.sku_name}; sites running."


# -- database move -----------------------------------------------------------------------------------


def _placement(p: DatabaseMoveParameters) -> str:
    return p.to_pool_id.rsplit("/", 1)[-1] if p.to_pool_id else p.sku_name


def move_check(context: StepContext) -> StepResult:
    p = context.parameters(DatabaseMoveParameters)
    database = sql.database_get(p.database_id)
    if not sql_same(database.elastic_pool_id, p.from_pool_id or None):
        raise StepFailedError(
            f"{database.name} is no longer where the request was planned: request it again.",
            code="PlacementChanged",
        )
    if database.status != "Online":
        raise StepFailedError(f"{database.name} is {database.status}.", code="DatabaseNotOnline")
    return f"{database.name} is online in {database.elastic_pool_id or database.service_objective}."


def sql_same(a: str | None, b: str | None) -> bool:
    return (a or "").lower() == (b or "").lower()


def _move_begin(p: DatabaseMoveParameters, *, back: bool) -> str:
    if back:
        if p.from_pool_id:
            return scaling.database_move_begin(p.database_id, elastic_pool_id=p.from_pool_id)
        raise StepFailedError("No pool to move back to.")
    if p.to_pool_id:
        return scaling.database_move_begin(p.database_id, elastic_pool_id=p.to_pool_id)
    return scaling.database_move_begin(
        p.database_id, sku_name=p.sku_name, sku_tier=p.sku_tier or None
    )


def move(context: StepContext) -> StepResult:
    p = context.parameters(DatabaseMoveParameters)
    context.outcome_if_failed("The database stays where it was.")
    if not context.get("move_token"):
        context.save(move_token=_move_begin(p, back=False))
    waiting = lro_settled(
        tde.database_update_wait(p.database_id, str(context.get("move_token")), timeout_seconds=0),
        f"Moving to {_placement(p)}…",
    )
    context.outcome_if_rolled_back("The database was moved back where it was.")
    return waiting or f"Moved to {_placement(p)}."


def move_back(context: StepContext) -> str:
    p = context.parameters(DatabaseMoveParameters)
    token = _move_begin(p, back=True)
    if not tde.database_update_wait(p.database_id, token, timeout_seconds=120).succeeded:
        raise StepFailedError("Moving the database back failed.")
    return "Moved back."


def move_verify(context: StepContext) -> StepResult:
    p = context.parameters(DatabaseMoveParameters)
    database = sql.database_get(p.database_id)
    in_effect = (
        sql_same(database.elastic_pool_id, p.to_pool_id)
        if p.to_pool_id
        else database.elastic_pool_id is None and database.service_objective == p.sku_name
    )
    if not in_effect:
        raise StepFailedError(
            f"{database.name} reports {database.elastic_pool_id or database.service_objective}.",
            code="MoveNotInEffect",
        )
    if database.status != "Online":
        raise StepFailedError(f"{database.name} is {database.status}.", code="DatabaseNotOnline")
    if context.tenant is None or not database.elastic_pool_id:
        # Out of its pool, the catalogue keeps the pool as the tenant's home (a restore places
        # its copy there); pages show the live placement from the snapshots.
        return f"In effect: {database.name} in {_placement(p)}, online."
    # The catalogue follows the database: restores, scaling and pages use its new pool.
    tenant_pool_record(
        tenant=context.tenant,
        elastic_pool_id=database.elastic_pool_id,
        by=f"operation #{context.operation.pk}",
    )
    return f"In effect: {database.name} in {_placement(p)}, online; the catalogue says so."


def _move_limits(p: DatabaseMoveParameters) -> list[Limit]:
    # One slot of each pool's restore limit: a pool scale (which takes them all) waits for the
    # move and the move for it.
    return [restores_in_pool(pool) for pool in (p.from_pool_id, p.to_pool_id) if pool]


# -- pool scale --------------------------------------------------------------------------------------


def pool_check(context: StepContext) -> StepResult:
    p = context.parameters(PoolScaleParameters)
    pool = sql.elastic_pool_get(p.pool_id)
    if pool.capacity != p.capacity or pool.state != "Ready":
        raise StepFailedError(
            f"{pool.name} is {pool.capacity} ({pool.state}) now, not the {p.capacity} the request "
            "was planned on: request it again.",
            code="PoolChanged",
        )
    return f"{pool.name}: {pool.capacity}, {len(p.tenant_slugs)} tenant(s)."


def pool_scale(context: StepContext) -> StepResult:
    p = context.parameters(PoolScaleParameters)
    context.outcome_if_failed("The pool stays as it was.")
    if not context.get("scale_token"):
        context.save(
            scale_token=scaling.pool_update_begin(
                p.pool_id,
                capacity=p.target_capacity if p.target_capacity != p.capacity else None,
                per_database_min=p.target_per_database_min,
                per_database_max=p.target_per_database_max,
            )
        )
    waiting = lro_settled(
        scaling.pool_update_wait(p.pool_id, str(context.get("scale_token")), timeout_seconds=0),
        "Scaling the pool…",
    )
    context.outcome_if_rolled_back("The pool was scaled back.")
    return waiting or f"Scaled to {p.target_capacity}."


def pool_scale_back(context: StepContext) -> str:
    p = context.parameters(PoolScaleParameters)
    token = scaling.pool_update_begin(
        p.pool_id,
        capacity=p.capacity,
        per_database_min=p.per_database_min,
        per_database_max=p.per_database_max,
    )
    if not scaling.pool_update_wait(p.pool_id, token, timeout_seconds=120).succeeded:
        raise StepFailedError("Scaling the pool back failed.")
    return "Scaled back."


def pool_verify(context: StepContext) -> StepResult:
    p = context.parameters(PoolScaleParameters)
    pool = sql.elastic_pool_get(p.pool_id)
    if (pool.capacity, pool.per_database_max_capacity) != (
        p.target_capacity,
        p.target_per_database_max,
    ):
        raise StepFailedError(
            f"{pool.name} reports {pool.capacity}, per database max "
            f"{pool.per_database_max_capacity}.",
            code="ScaleNotInEffect",
        )
    return f"In effect: {pool.name} at {pool.capacity}, per database {p.target_per_database_min:g}–{p.target_per_database_max:g}."


# -- registration ------------------------------------------------------------------------------------


def _tenant_locks(parameters: PlanScaleParameters | PoolScaleParameters) -> list[str]:
    return [f"{Operation.Subject.TENANT}:{slug.lower()}" for slug in parameters.tenant_slugs]


def _plan_locks(parameters: PlanScaleParameters) -> list[str]:
    # A shared plan scales every tenant on it: they are all locked.
    return _tenant_locks(parameters)


def _always(value: bool) -> Callable[[], bool]:
    return lambda: value


@dataclass(frozen=True)
class _Kind:
    """A scaling kind: check → change (with its undo) → verify; what is left when nothing ran
    (`untouched`) and its engine options (locks, limits)."""

    name: str
    label: str
    parameters: type
    untouched: str
    steps: tuple[Step, ...]
    options: dict[str, object]

    def plan(self, operation: Operation) -> list[Step]:
        return list(self.steps)

    def register(self) -> None:
        """Two kinds: as is, and `<name>_costly`, which needs a second admin's approval."""
        for suffix, approval in (("", False), (COSTLY, True)):
            register(
                OperationKind(
                    name=self.name + suffix,
                    label=self.label + (" (over the cost threshold)" if approval else ""),
                    permission=SCALE_TENANT,
                    needs_approval=_always(approval),
                    plan=self.plan,
                    parameters=self.parameters,
                    untouched_outcome=f"Nothing was changed: {self.untouched}.",
                    **self.options,  # type: ignore[arg-type]
                )
            )


_KINDS = (
    _Kind(
        PLAN_SCALE, "Scale an App Service plan", PlanScaleParameters, "the plan is as it was",
        (Step("check", "Check the plan is as planned", plan_check),
         Step("scale", "Scale the plan", plan_scale, undo=plan_scale_back),
         Step("verify", "Verify the new SKU and that the sites run", plan_verify)),
        {"extra_locks": _plan_locks},
    ),
    _Kind(
        DATABASE_MOVE, "Move a database", DatabaseMoveParameters, "the database is where it was",
        (Step("check", "Check the database is where planned", move_check),
         Step("move", "Move the database", move, undo=move_back),
         Step("verify", "Verify the placement and that the database is online", move_verify)),
        {"limits": _move_limits},
    ),
    _Kind(
        POOL_SCALE, "Scale an elastic pool", PoolScaleParameters, "the pool is as it was",
        (Step("check", "Check the pool is as planned", pool_check),
         Step("scale", "Scale the pool", pool_scale, undo=pool_scale_back),
         Step("verify", "Verify the new capacity", pool_verify)),
        {"limits": lambda p: [restores_in_pool(p.pool_id, whole=True)]},
    ),
)  # fmt: skip


def register_kinds() -> None:
    for kind in _KINDS:
        kind.register()
