"""Seeds the fleet's disaster-recovery arrangement in Australia Southeast.

- Every paired (geo) SQL server gets elastic pools mirroring its primary's pools (same SKU,
  named ``<primary pool>-dr``), so a geo-restore has somewhere to land.
- Every tenant gets a stopped standby site ``<site>-ase`` on its own plan ``<plan>-ase`` in
  Australia Southeast, tagged with the tenant and ``fleetwise-role: standby``: a stopped site
  costs only its plan and comes up in seconds. One tenant (chosen by the hook's own random
  stream, so the rest of the seed is unchanged) has none: the portal records its primary's
  configuration and makes the standby when a failover or drill needs it.
- Each tenant is given a DR priority tier (about a fifth tier 1, half tier 2, the rest tier 3),
  recorded in the fleet info the demo's catalogue is loaded from.

Sites and plans are stored as the web provider stores them, so every App Service route serves
them; the standby's ``config/*`` resources are created when first read, as for any site.
"""

from __future__ import annotations

import copy
from typing import Any

from azure_emulator.seed import GEO_REGION, GEO_REGION_DISPLAY, ROLE_TAG
from azure_emulator.state import JSON, Store

STANDBY_SUFFIX = "-ase"
DR_POOL_SUFFIX = "-dr"


def _tier(rng: Any) -> int:
    draw = rng.random()
    return 1 if draw < 0.2 else 2 if draw < 0.7 else 3


def _dr_pools(store: Store, fleet: JSON) -> None:
    geo_of = {s["id"].lower(): s["geo_server_id"] for s in fleet.get("servers", [])}
    for row in fleet.get("pools", []):
        geo_id = geo_of.get(row["server_id"].lower())
        pool = store.get(row["id"])
        if not geo_id or pool is None:
            continue
        twin = copy.deepcopy(pool)
        twin["name"] = f"{pool['name']}{DR_POOL_SUFFIX}"
        twin["id"] = f"{geo_id}/elasticPools/{twin['name']}"
        twin["location"] = GEO_REGION
        twin["tags"] = {ROLE_TAG: "dr"}
        twin.get("_meta", {}).pop("scale", None)
        store.resources[twin["id"].lower()] = twin
        row["dr_pool_id"] = twin["id"]


def _standby(store: Store, tenant: JSON) -> tuple[str, str] | None:
    """(standby site id, standby plan id)."""
    site, plan = store.get(tenant["site_id"]), store.get(tenant["plan_id"])
    if site is None or plan is None:
        return None
    standby_plan = copy.deepcopy(plan)
    standby_plan["name"] = f"{plan['name']}{STANDBY_SUFFIX}"
    standby_plan["id"] = plan["id"].rsplit("/", 1)[0] + "/" + standby_plan["name"]
    standby_plan["location"] = GEO_REGION_DISPLAY
    standby_plan["tags"] = {**plan.get("tags", {}), ROLE_TAG: "standby"}
    standby_plan["properties"]["geoRegion"] = GEO_REGION_DISPLAY
    standby_plan["sku"]["capacity"] = 1
    standby_plan["properties"]["numberOfWorkers"] = 1
    standby_plan["_meta"] = {"metrics": plan.get("_meta", {}).get("metrics", {})}
    store.resources[standby_plan["id"].lower()] = standby_plan

    standby = copy.deepcopy(site)
    name = f"{site['name']}{STANDBY_SUFFIX}"
    host = f"{name}.azurewebsites.net"
    standby["name"] = name
    standby["id"] = site["id"].rsplit("/", 1)[0] + "/" + name
    standby["location"] = GEO_REGION_DISPLAY
    standby["tags"] = {**site.get("tags", {}), ROLE_TAG: "standby"}
    props = standby["properties"]
    props.update(
        {
            "state": "Stopped",
            "hostNames": [host],
            "enabledHostNames": [host, f"{name}.scm.azurewebsites.net"],
            "defaultHostName": host,
            "serverFarmId": standby_plan["id"],
        }
    )
    props.pop("siteConfig", None)
    # Not the tenant's site: no "tenant" marker, so control routes aimed at a tenant's app
    # (stop, break) leave the standby alone.
    standby["_meta"] = {
        "metrics": site.get("_meta", {}).get("metrics", {}),
        "standby_of": site["id"],
    }
    store.resources[standby["id"].lower()] = standby
    return str(standby["id"]), str(standby_plan["id"])


def seed_hook(*, store: Store, config: Any, rng: Any) -> None:
    fleet = store.info.get("fleet") or {}
    tenants = fleet.get("tenants") or []
    if not tenants:
        return
    _dr_pools(store, fleet)
    without = rng.randrange(len(tenants)) if len(tenants) >= 4 else -1
    for index, tenant in enumerate(tenants):
        tenant["dr_tier"] = _tier(rng)
        made = None if index == without else _standby(store, tenant)
        tenant["standby_site_id"], tenant["standby_plan_id"] = made or (None, None)
        if index == without:
            tenant.setdefault("seeded_issues", []).append("no_standby_site")
    fleet["dr"] = {
        "region": GEO_REGION,
        "tenant_without_standby": tenants[without]["slug"] if without >= 0 else None,
    }
    store.touch()
