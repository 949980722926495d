"""Elastic pools."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import Response

from azure_emulator import lro
from azure_emulator.arm import ArmRequest, page, respond
from azure_emulator.errors import bad_request, not_found
from azure_emulator.providers.sql.common import (
    POOL,
    POOL_TYPE,
    SERVER,
    STANDARD_POOL_DTUS,
    busy,
    live_databases,
    pools_on,
    require_server,
    router,
)
from azure_emulator.state import JSON

if TYPE_CHECKING:
    from azure_emulator.runtime import Emulator


# -- elastic pools ----------------------------------------------------------------------------------


def _render_pool(pool: JSON) -> JSON:
    return {k: v for k, v in pool.items() if not k.startswith("_")}


@router.route("GET", POOL, "elastic_pools.get")
def pool_get(req: ArmRequest) -> Response:
    server = require_server(req)
    pool = req.store.get(f"{server['id']}/elasticPools/{req.params['pool']}")
    if pool is None:
        raise not_found(POOL_TYPE, req.params["pool"])
    return respond(_render_pool(pool))


@router.route("GET", SERVER + "/elasticPools", "elastic_pools.list_by_server")
def pools_list(req: ArmRequest) -> Response:
    server = require_server(req)
    return page(req, sorted(pools_on(req.store, server["id"]).values(), key=lambda p: p["name"]))


@router.route("PATCH", POOL, "elastic_pools.update")
def pool_update(req: ArmRequest) -> Response:
    server = require_server(req)
    pool = req.store.get(f"{server['id']}/elasticPools/{req.params['pool']}")
    if pool is None:
        raise not_found(POOL_TYPE, req.params["pool"])
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
    used = sum(
        int(d.get("_meta", {}).get("used_bytes", 0))
        for d in live_databases(req.store, server["id"])
        if str(d["properties"].get("elasticPoolId") or "").lower() == pool["id"].lower()
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
    return lro.start(
        req,
        finalize="sql.pool_update",
        resource_id=pool["id"],
        location=server["location"],
        args=change,
        body=_render_pool(pool),
        status=202,
        status_kind="elasticPool",
        labels={"subscription": req.params["subscription"], "scale": True},
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
