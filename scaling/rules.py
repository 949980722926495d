"""Scaling guard rails as pure functions: allowed SKUs and limits (from settings), scaling below
the recent 24 h peak, the cost that needs a second admin, and a pool's headroom for a move.

Inputs are plain numbers the caller read at plan time (the plan, pool and database as they are,
their recent peaks from Azure Monitor); outputs are sentences a person can act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

GB = 1024**3


@dataclass(frozen=True)
class ScalingLimits:
    """What admins may choose, and what it costs. Settings: SCALING_LIMITS (docs/scaling.md)."""

    plan_skus: tuple[str, ...] = ("S1", "S2", "S3", "P0v3", "P1v3", "P2v3", "P3v3")
    plan_max_instances: int = 10
    dtu_pool_capacities: tuple[int, ...] = (50, 100, 200, 300, 400, 800, 1200, 1600)
    vcore_pool_capacities: tuple[int, ...] = (2, 4, 6, 8, 10, 12, 16, 20, 24, 32)
    single_database_skus: tuple[str, ...] = ("S0", "S1", "S2", "S3", "S4", "S6", "P1", "P2")
    # Monthly price per plan instance by SKU, per pool eDTU and per pool vCore (list prices,
    # AUD, rounded: good enough to decide whether a second admin looks at the change).
    plan_instance_price: Mapping[str, float] = field(
        default_factory=lambda: {
            "S1": 110.0,
            "S2": 220.0,
            "S3": 440.0,
            "P0v3": 125.0,
            "P1v3": 250.0,
            "P2v3": 500.0,
            "P3v3": 1000.0,
        }
    )
    pool_edtu_price: float = 2.3
    pool_vcore_price: float = 560.0
    # A change that adds more than this per month needs a second admin's approval.
    approval_threshold: float = 500.0

    @classmethod
    def from_settings(cls, values: Mapping[str, object] | None) -> ScalingLimits:
        if not values:
            return cls()
        known = set(cls.__dataclass_fields__)
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"Unknown SCALING_LIMITS keys: {', '.join(sorted(unknown))}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})  # type: ignore[arg-type]


# Relative compute of App Service SKUs (cores per instance), to compare a peak across SKUs.
PLAN_SKU_CORES: Mapping[str, float] = {
    "B1": 1,
    "B2": 2,
    "B3": 4,
    "S1": 1,
    "S2": 2,
    "S3": 4,
    "P0v3": 1,
    "P1v3": 2,
    "P2v3": 4,
    "P3v3": 8,
}


@dataclass(frozen=True)
class PlanChange:
    sku: str
    instances: int
    target_sku: str
    target_instances: int
    # Highest CPU % of the plan (average over its instances) in the last 24 h.
    peak_cpu_percent: float


def plan_tier(sku: str) -> tuple[str, int]:
    """The pricing tier of an App Service plan SKU and the most instances that tier scales out to
    (Microsoft Learn, "Azure subscription and service limits", App Service limits: Basic 3,
    Standard 10, Premium v2/v3 30, Isolated v2 100)."""
    if sku.endswith("mv3"):
        return "PremiumMV3", 30
    if sku.startswith("P") and sku.endswith(("v2", "v3")):
        return f"Premium{sku[-2:].upper()}", 30
    if sku.startswith("I") and sku.endswith("v2"):
        return "IsolatedV2", 100
    return {"B": ("Basic", 3), "S": ("Standard", 10)}.get(sku[:1], ("Unknown", 1))


def instance_ceiling(limits: ScalingLimits, sku: str) -> int:
    """The most instances an admin may choose for `sku`: the setting, capped by the SKU's tier."""
    return min(limits.plan_max_instances, plan_tier(sku)[1])


def plan_change_refusals(
    change: PlanChange, limits: ScalingLimits, *, override_reason: str = ""
) -> list[str]:
    problems: list[str] = []
    if change.target_sku not in limits.plan_skus:
        problems.append(
            f"{change.target_sku} is not an allowed plan SKU; allowed: {', '.join(limits.plan_skus)}."
        )
    ceiling = instance_ceiling(limits, change.target_sku)
    if not 1 <= change.target_instances <= ceiling:
        problems.append(
            f"{change.target_instances} instances is outside the allowed 1-{ceiling} "
            f"for {change.target_sku} ({plan_tier(change.target_sku)[0]})."
        )
    if change.target_sku not in PLAN_SKU_CORES or change.sku not in PLAN_SKU_CORES:
        return problems
    used = PLAN_SKU_CORES[change.sku] * change.instances * change.peak_cpu_percent / 100
    target = PLAN_SKU_CORES[change.target_sku] * change.target_instances
    if used > target and not override_reason.strip():
        problems.append(
            f"{change.target_instances} × {change.target_sku} is below the last 24 h peak "
            f"({change.peak_cpu_percent:.0f}% CPU of {change.instances} × {change.sku} = "
            f"{used:.1f} cores, the target has {target:g}): tick the override and give a reason."
        )
    return problems


def plan_monthly_cost(sku: str, instances: int, limits: ScalingLimits) -> float | None:
    price = limits.plan_instance_price.get(sku)
    return None if price is None else price * instances


def pool_monthly_cost(capacity: int, *, vcore: bool, limits: ScalingLimits) -> float:
    return capacity * (limits.pool_vcore_price if vcore else limits.pool_edtu_price)


def needs_second_approval(
    *, before: float | None, after: float | None, limits: ScalingLimits
) -> bool:
    """A change that raises the monthly cost by more than the threshold (or whose cost is
    unknown) needs a second admin."""
    if before is None or after is None:
        return True
    return after - before > limits.approval_threshold


@dataclass(frozen=True)
class PoolChange:
    vcore: bool
    capacity: int
    target_capacity: int
    # The pool's peak compute in the last 24 h, in its own unit (eDTU or vCores).
    peak_used: float
    per_database_max: float
    target_per_database_max: float


def pool_change_refusals(
    change: PoolChange, limits: ScalingLimits, *, override_reason: str = ""
) -> list[str]:
    unit = "vCores" if change.vcore else "eDTU"
    allowed = limits.vcore_pool_capacities if change.vcore else limits.dtu_pool_capacities
    problems: list[str] = []
    if change.target_capacity not in allowed:
        problems.append(
            f"{change.target_capacity} {unit} is not an allowed pool size; allowed: "
            f"{', '.join(str(a) for a in allowed)}."
        )
    if change.target_per_database_max > change.target_capacity:
        problems.append(
            f"The per-database max ({change.target_per_database_max:g} {unit}) cannot exceed the "
            f"pool's {change.target_capacity} {unit}."
        )
    if change.peak_used > change.target_capacity and not override_reason.strip():
        problems.append(
            f"{change.target_capacity} {unit} is below the last 24 h peak of "
            f"{change.peak_used:.0f} {unit}: tick the override and give a reason."
        )
    return problems


@dataclass(frozen=True)
class PoolRoom:
    name: str
    vcore: bool
    capacity: int
    max_size_bytes: int
    per_database_max: float
    used_bytes: int
    # The pool's peak compute in the last 24 h (eDTU or vCores).
    peak_used: float


@dataclass(frozen=True)
class Incoming:
    name: str
    used_bytes: int
    # The database's own peak compute in the last 24 h, in the target pool's unit.
    peak_used: float


def pool_headroom_refusals(pool: PoolRoom, database: Incoming) -> list[str]:
    """Why `database` does not fit `pool`, in words that say by how much (empty: it fits)."""
    unit = "vCores" if pool.vcore else "DTU"
    problems = []
    storage_after = pool.used_bytes + database.used_bytes
    if storage_after > pool.max_size_bytes:
        problems.append(
            f"Moving {database.name} into {pool.name} would overflow its storage by "
            f"{(storage_after - pool.max_size_bytes) / GB:.1f} GB "
            f"({pool.used_bytes / GB:.1f} + {database.used_bytes / GB:.1f} of "
            f"{pool.max_size_bytes / GB:.1f} GB)."
        )
    compute_after = pool.peak_used + database.peak_used
    if compute_after > pool.capacity:
        problems.append(
            f"At the last 24 h peaks {pool.name} would overflow by "
            f"{compute_after - pool.capacity:.0f} {unit} ({pool.peak_used:.0f} + "
            f"{database.peak_used:.0f} of {pool.capacity} {unit})."
        )
    if database.peak_used > pool.per_database_max:
        problems.append(
            f"{database.name} peaked at {database.peak_used:.0f} {unit}, above {pool.name}'s "
            f"per-database max of {pool.per_database_max:g} {unit}."
        )
    return problems


# -- pool rebalancing advice -------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseShare:
    database_id: str
    database: str
    tenant: str
    # The database's share of its pool's compute, in percent of the pool.
    cpu_percent: float
    storage_bytes: int


# Microsoft's sizing rule for moving between purchasing models ("Migrate Azure SQL Database
# from the DTU-based model to the vCore-based model"): every 100 DTU of Standard needs at least
# one General Purpose vCore, every 125 DTU of Premium one Business Critical vCore.
DTU_PER_VCORE = {"GP_": 100.0, "HS_": 100.0, "BC_": 125.0}


def dtu_equivalent(capacity: float, sku_name: str) -> float:
    """A pool's capacity in DTU (vCore pools converted by DTU_PER_VCORE), so that load moved
    between a DTU pool and a vCore pool on the same server is compared in one unit."""
    per_vcore = next((n for prefix, n in DTU_PER_VCORE.items() if sku_name.startswith(prefix)), 1.0)
    return capacity * per_vcore


@dataclass(frozen=True)
class PoolLoad:
    pool_id: str
    name: str
    # Pools on the same server (moves stay on a server): any key naming the server.
    server: str
    # In DTU, or DTU-equivalent for vCore pools (dtu_equivalent).
    capacity: float
    cpu_percent: float
    max_size_bytes: int
    storage_used_bytes: int
    shares: tuple[DatabaseShare, ...] = ()


@dataclass(frozen=True)
class MoveAdvice:
    tenant: str
    database: str
    from_pool_id: str
    from_pool: str
    to_pool_id: str
    to_pool: str
    why: str


def rebalancing_advice(
    pools: list[PoolLoad], *, hot_percent: float = 80.0, target_percent: float = 70.0
) -> list[MoveAdvice]:
    """For each pool at or above `hot_percent` CPU, which tenants' databases to move to a cooler
    pool on the same server so that it falls to `target_percent` without lifting the receiving
    pool above `target_percent` or past its storage. Largest CPU shares first. Advice only."""
    load = {p.pool_id: p.cpu_percent / 100 * p.capacity for p in pools}
    stored = {p.pool_id: p.storage_used_bytes for p in pools}
    advice: list[MoveAdvice] = []
    for hot in sorted(pools, key=lambda p: -p.cpu_percent):
        if hot.cpu_percent < hot_percent or not hot.capacity:
            continue
        others = [p for p in pools if p.server == hot.server and p.pool_id != hot.pool_id]
        for share in sorted(hot.shares, key=lambda s: -s.cpu_percent):
            if load[hot.pool_id] <= target_percent / 100 * hot.capacity:
                break
            if not share.tenant:
                continue
            units = share.cpu_percent / 100 * hot.capacity
            fits = [
                p
                for p in others
                if p.capacity
                and (load[p.pool_id] + units) / p.capacity * 100 <= target_percent
                and stored[p.pool_id] + share.storage_bytes <= p.max_size_bytes
            ]
            if not fits:
                continue
            to = min(fits, key=lambda p: load[p.pool_id] / p.capacity)
            before_to = load[to.pool_id] / to.capacity * 100
            load[hot.pool_id] -= units
            load[to.pool_id] += units
            stored[hot.pool_id] -= share.storage_bytes
            stored[to.pool_id] += share.storage_bytes
            advice.append(
                MoveAdvice(
                    tenant=share.tenant,
                    database=share.database,
                    from_pool_id=hot.pool_id,
                    from_pool=hot.name,
                    to_pool_id=to.pool_id,
                    to_pool=to.name,
                    why=(
                        f"{hot.name} runs at {hot.cpu_percent:.0f}% CPU; {share.database} uses "
                        f"{share.cpu_percent:.0f}% of it. After the move {hot.name} ≈ "
                        f"{load[hot.pool_id] / hot.capacity * 100:.0f}%, {to.name} "
                        f"{before_to:.0f}% → {load[to.pool_id] / to.capacity * 100:.0f}%."
                    ),
                )
            )
    return advice


def plan_sku_label(sku: str, limits: ScalingLimits) -> str:
    """How a SKU is offered on the scaling form: its tier, size, instance ceiling and price."""
    tier, _ = plan_tier(sku)
    parts = [sku, tier]
    if sku in PLAN_SKU_CORES:
        parts.append(f"{PLAN_SKU_CORES[sku]:g} cores")
    parts.append(f"1-{instance_ceiling(limits, sku)} instances")
    price = limits.plan_instance_price.get(sku)
    if price is not None:
        parts.append(f"{price:,.0f}/instance/month")
    return " · ".join(parts)
