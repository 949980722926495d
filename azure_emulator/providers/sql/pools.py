"""Elastic pools."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import Response

from azure_emulator import lro
from azure_emulator.arm import ArmRequest, page, respond
from azure_emulator.errors import bad_request
from azure_emulator.providers.sql.common import (
    POOL,
    POOL_UPDATE,
    SERVER,
    STANDARD_POOL_DTUS,
    busy,
    live_databases,
    pools_on,
    require_pool,
    require_server,
    router,
    start_write,
)
from azure_emulator.state import JSON, Store

if TYPE_CHECKING:
    from azure_emulator.runtime import Emulator


# -- elastic pools ----------------------------------------------------------------------------------

# Allowed "max eDTU per database" values of DTU pools (Learn: resource limits for elastic pools
# using the DTU purchasing model); never above the pool's own eDTU.
DTU_PER_DATABASE_MAX = (5, 10, 20, 50, 75, 100, 125, 150, 200, 250, 300, 400, 500, 1000, 1500)


def pool_members(store: Store, server_id: str, pool_id: str) -> list[JSON]:
    return [
        d
        for d in live_databases(store, server_id)
        if str(d["properties"].get("elasticPoolId") or "").lower() == pool_id.lower()
    ]


def check_per_database(sku_name: str, capacity: float, per_db: JSON, databases: int) -> None:
    """Azure's per-database limits of a pool (Elastic Pools - Update error list): the max per
    database within the pool's capacity and (DTU) one of the allowed values; the min at most the
    max, and the mins of all member databases together within the pool's capacity."""
    dtu = not sku_name.startswith(("GP_", "BC_", "HS_"))
    unit = "DTU" if dtu else "vCore"
    low = float(per_db.get("minCapacity") or 0)
    high = float(per_db.get("maxCapacity") or 0)
    if high > capacity:
        raise bad_request(
            "ElasticPoolDbDtuMaxAboveLimit",
            f"The requested per database {unit} max ({high:g}) is too high for the elastic pool "
            f"({capacity:g} {unit}).",
        )
    if dtu and high and high not in DTU_PER_DATABASE_MAX and high != capacity:
        raise bad_request(
            "InvalidInputValueForDatabaseDtuMax",
            f"The per database DTU max {high:g} is not one of the allowed values: "
            + ", ".join(str(v) for v in DTU_PER_DATABASE_MAX if v <= capacity)
            + ".",
        )
    if low > high or low * databases > capacity:
        raise bad_request(
            "ElasticPoolDbDtuMinAboveLimit",
            f"The requested per database {unit} min ({low:g}) is too high: with {databases} "
            f"databases the pool would reserve {low * databases:g} of its {capacity:g} {unit}"
            + (f", and it is above the per database max ({high:g})." if low > high else "."),
        )


def _render_pool(pool: JSON) -> JSON:
    return {k: v for k, v in pool.items() if not k.startswith("_")}


@router.route("GET", POOL, "elastic_pools.get")
def pool_get(req: ArmRequest) -> Response:
    pool = require_pool(req, require_server(req))
    return respond(_render_pool(pool))


@router.route("GET", SERVER + "/elasticPools", "elastic_pools.list_by_server")
def pools_list(req: ArmRequest) -> Response:
    server = require_server(req)
    return page(req, sorted(pools_on(req.store, server["id"]).values(), key=lambda p: p["name"]))


@router.route("PATCH", POOL, "elastic_pools.update")
def pool_update(req: ArmRequest) -> Response:
    server = require_server(req)
    pool = require_pool(req, server)
    busy(req, pool["id"])
    body = req.json()
    props = body.get("properties") or {}
    sku = body.get("sku")
    if sku:
        name = sku.get("name", pool["sku"]["name"])
        capacity = sku.get("capacity", pool["sku"].get("capacity"))
        if name == "StandardPool" and capacity not in STANDARD_POOL_DTUS:
            raise bad_request(
                "MismatchedSkuNameAndCapacity",
                f"Mismatch between SKU name 'StandardPool' and capacity '{capacity}'. Valid eDTU values: "
                + ", ".join(str(c) for c in STANDARD_POOL_DTUS)
                + ".",
            )
        if name.startswith("GP_") and capacity not in (
            2,
            4,
            6,
            8,
            10,
            12,
            14,
            16,
            18,
            20,
            24,
            32,
            40,
            80,
        ):
            raise bad_request(
                "MismatchedSkuNameAndCapacity",
                f"Mismatch between SKU name '{name}' and capacity '{capacity}'.",
            )
    members = pool_members(req.store, server["id"], pool["id"])
    used = sum(int(d.get("_meta", {}).get("used_bytes", 0)) for d in members)
    capacity = (sku or {}).get("capacity", pool["sku"].get("capacity"))
    check_per_database(
        pool["sku"]["name"] if not sku else sku.get("name", pool["sku"]["name"]),
        float(capacity or 0),
        {
            **pool["properties"].get("perDatabaseSettings", {}),
            **(props.get("perDatabaseSettings") or {}),
        },
        len(members),
    )
    if "maxSizeBytes" in props and int(props["maxSizeBytes"]) < used:
        raise bad_request(
            "ElasticPoolDecreaseStorageLimitBelowUsage",
            "Attempting to decrease the storage limit of the elastic pool below its storage usage.",
        )
    if "tags" in body:
        pool["tags"] = body["tags"] or {}
        req.store.put(pool)
    change = {
        "sku": sku,
        "properties": {
            k: v
            for k, v in props.items()
            if k in ("maxSizeBytes", "perDatabaseSettings", "zoneRedundant", "licenseType")
        },
    }
    if not sku and not change["properties"]:
        return respond(_render_pool(pool))
    return start_write(
        req,
        server,
        POOL_UPDATE,
        pool["id"],
        args=change,
        labels={"scale": True},
    )


@lro.finalizer("sql.pool_update")
def _pool_updated(emulator: Emulator, op: JSON, succeeded: bool) -> JSON | None:
    pool = emulator.store.get(op["resource_id"])
    if pool is None:
        return None
    if succeeded:
        if op["args"].get("sku"):
            pool["sku"] = {**pool["sku"], **op["args"]["sku"]}
        pool["properties"].update(op["args"].get("properties") or {})
        emulator.store.put(pool)
    return pool


def check_pool_room(req: ArmRequest, server: JSON, pool: JSON, db: JSON) -> None:
    """A database moving in must fit the pool's storage (the data it holds, not its max size)."""
    members = pool_members(req.store, server["id"], pool["id"])
    used = sum(int(d.get("_meta", {}).get("used_bytes", 0)) for d in members)
    incoming = int(db.get("_meta", {}).get("used_bytes", 0))
    limit = int(pool["properties"].get("maxSizeBytes") or 0)
    if limit and used + incoming > limit:
        over = (used + incoming - limit) / 1024**3
        raise bad_request(
            "ElasticPoolOverStorage",
            f"The elastic pool '{pool['name']}' has {limit / 1024**3:.1f} GB of storage and "
            f"{used / 1024**3:.1f} GB in use; database '{db['name']}' holds "
            f"{incoming / 1024**3:.1f} GB and would overflow it by {over:.1f} GB.",
        )
