"""Seeds one hot elastic pool: a runaway tenant in the fleet's first pool whose demand keeps the
pool's CPU above 90 % around the clock, the noisy neighbour the pools page must name.

Pool load is the members' demand over the pool's capacity (metric_curves.sql_value); at the
quietest hour the fleet's load factor is 0.08, so the noisy member's `_meta.scale` is sized
from the pool's capacity to saturate it even then.
"""

from __future__ import annotations

from typing import Any

from azure_emulator.state import Store

# Night load 0.08 x 5 eDTU per unit of scale must exceed the pool's capacity.
_SCALE_PER_EDTU = 2.6
_SCALE_PER_VCORE = 90.0


def seed_hook(*, store: Store, config: Any, rng: Any) -> None:
    fleet = store.info.get("fleet") or {}
    pools = fleet.get("pools") or []
    tenants = fleet.get("tenants") or []
    if not pools or len(tenants) < 4:
        return
    pool = store.get(pools[0]["id"])
    members = [t for t in tenants if t["elastic_pool_id"].lower() == pools[0]["id"].lower()]
    if pool is None or not members:
        return
    noisy = store.get(members[0]["database_id"])
    if noisy is None:
        return
    sku = pool.get("sku") or {}
    capacity = float(sku.get("capacity") or 100)
    vcore = str(sku.get("tier", "")).lower() in ("generalpurpose", "businesscritical", "hyperscale")
    noisy.setdefault("_meta", {})["scale"] = capacity * (
        _SCALE_PER_VCORE if vcore else _SCALE_PER_EDTU
    )
    fleet["hot_pool"] = {"id": pool["id"], "noisy_tenant": members[0]["slug"]}
    members[0].setdefault("seeded_issues", []).append("noisy_neighbour")
    store.touch()
