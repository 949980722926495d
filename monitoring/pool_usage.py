"""A pool as the pools page shows it: use, headroom and its noisiest tenants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitoring.models import PoolSnapshot

NEIGHBOURS = 3


@dataclass(frozen=True)
class Neighbour:
    database: str
    # "" when the database belongs to no tenant in the catalogue (a restore copy, say).
    tenant: str
    # Its share of what the pool's databases use now, in per cent.
    share_percent: float | None
    storage_bytes: int | None
    # False for a tenant the person may not see: shown by database name, without a link.
    visible: bool


@dataclass(frozen=True)
class PoolRow:
    pool: PoolSnapshot
    storage_free_bytes: int | None
    # Unused capacity in the pool's unit (eDTU or vCores) at the latest CPU reading.
    capacity_free: float | None
    neighbours: list[Neighbour]


def _neighbour(share: dict[str, Any], visible: set[str]) -> Neighbour:
    slug = str(share.get("tenant") or "")
    shown = bool(slug) and slug in visible
    return Neighbour(
        database=str(share.get("database", "")) if shown or not slug else "another tenant",
        tenant=slug if shown else "",
        share_percent=share.get("cpu_percent"),
        storage_bytes=share.get("storage_bytes") if shown or not slug else None,
        visible=shown,
    )


def pool_row(pool: PoolSnapshot, visible: set[str]) -> PoolRow:
    """`visible`: the slugs the person may see; other tenants stay unnamed."""
    storage_free = (
        pool.max_size_bytes - pool.storage_used_bytes
        if pool.max_size_bytes is not None and pool.storage_used_bytes is not None
        else None
    )
    capacity_free = (
        pool.capacity * (100.0 - min(pool.cpu_percent, 100.0)) / 100.0
        if pool.capacity is not None and pool.cpu_percent is not None
        else None
    )
    shares = sorted(pool.database_shares or [], key=lambda s: -(s.get("cpu_percent") or 0.0))[
        :NEIGHBOURS
    ]
    return PoolRow(
        pool=pool,
        storage_free_bytes=storage_free,
        capacity_free=capacity_free,
        neighbours=[_neighbour(share, visible) for share in shares],
    )
