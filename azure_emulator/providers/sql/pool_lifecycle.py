"""Creating and deleting elastic pools (``elastic_pools.begin_create_or_update`` /
``begin_delete``), on any server, the paired-region ones included (a geo-restore can then land
in a pool). Both are long-running: 202 with ``Azure-AsyncOperation`` and ``Location`` and a
small ``{"operation", "startTime"}`` body, as Azure records them; the pool is read once the
operation completes (docs/azure-behaviours.md, "Elastic pools: create and delete")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import Response

from azure_emulator import lro
from azure_emulator.arm import ArmRequest
from azure_emulator.errors import ArmError, bad_request
from azure_emulator.providers.sql.common import (
    POOL,
    POOL_CREATE,
    POOL_DELETE,
    POOL_TYPE,
    STANDARD_POOL_DTUS,
    busy,
    find_child,
    require_server,
    require_server_location,
    router,
    start_write,
)
from azure_emulator.providers.sql.pools import pool_members, pool_update
from azure_emulator.state import JSON, isoformat

if TYPE_CHECKING:
    from azure_emulator.runtime import Emulator

VCORE_POOL_CAPACITIES = (2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 24, 32, 40, 80)
# What Azure fills in when a create names only the SKU (the smallest size of the tier).
DEFAULT_CAPACITY = {"StandardPool": 50, "BasicPool": 50, "PremiumPool": 125}
TIERS = {"StandardPool": "Standard", "BasicPool": "Basic", "PremiumPool": "Premium"}


def _sku(requested: JSON | None) -> JSON:
    sku = dict(requested or {"name": "GP_Gen5"})
    name = str(sku.get("name") or "")
    if name.startswith("GP_"):
        sku.setdefault("tier", "GeneralPurpose")
        sku.setdefault("family", name.split("_", 1)[1])
        sku.setdefault("capacity", 2)
        valid: tuple[int, ...] = VCORE_POOL_CAPACITIES
    elif name in DEFAULT_CAPACITY:
        sku.setdefault("tier", TIERS[name])
        sku.setdefault("capacity", DEFAULT_CAPACITY[name])
        valid = STANDARD_POOL_DTUS if name == "StandardPool" else ()
    else:
        raise bad_request("InvalidSkuName", f"The SKU name '{name}' is not a valid pool SKU.")
    if valid and sku["capacity"] not in valid:
        raise bad_request(
            "MismatchedSkuNameAndCapacity",
            f"Mismatch between SKU name '{name}' and capacity '{sku['capacity']}'.",
        )
    return sku


@router.route("PUT", POOL, "elastic_pools.create_or_update")
def pool_put(req: ArmRequest) -> Response:
    server = require_server(req)
    pool_id = f"{server['id']}/elasticPools/{req.params['pool']}"
    if req.store.get(pool_id) is not None:
        # PUT on an existing pool changes it, as PATCH does.
        updated = pool_update(req)
        assert isinstance(updated, Response)  # noqa: S101 - a synchronous handler
        return updated
    body = req.json()
    require_server_location(body, server)
    sku = _sku(body.get("sku"))
    props = body.get("properties") or {}
    capacity = float(sku["capacity"])
    pool: JSON = {
        "id": pool_id,
        "name": req.params["pool"],
        "type": POOL_TYPE,
        "location": server["location"],
        "kind": "pool",
        "tags": body.get("tags") or {},
        "sku": sku,
        "properties": {
            "state": "Creating",
            "creationDate": isoformat(req.store.now()),
            "maxSizeBytes": int(props.get("maxSizeBytes") or 100 * 1024**3),
            "perDatabaseSettings": props.get("perDatabaseSettings")
            or {"minCapacity": 0.0, "maxCapacity": capacity},
            "zoneRedundant": bool(props.get("zoneRedundant", False)),
            "licenseType": props.get("licenseType")
            or ("LicenseIncluded" if sku["name"].startswith("GP_") else None),
            "maintenanceConfigurationId": f"/subscriptions/{req.params['subscription']}"
            "/providers/Microsoft.Maintenance/publicMaintenanceConfigurations/SQL_Default",
            "availabilityZone": "NoPreference",
        },
        "_meta": {"metrics": None},
    }
    req.store.put(pool)
    return start_write(req, server, POOL_CREATE, pool_id)


@lro.finalizer("sql.pool_create")
def _pool_created(emulator: Emulator, op: JSON, succeeded: bool) -> JSON | None:
    pool = emulator.store.get(op["resource_id"])
    if pool is None:
        return None
    if not succeeded:
        emulator.store.delete(op["resource_id"])
        return None
    pool["properties"]["state"] = "Ready"
    emulator.store.put(pool)
    return {k: v for k, v in pool.items() if not k.startswith("_")}


@router.route("DELETE", POOL, "elastic_pools.delete")
def pool_delete(req: ArmRequest) -> Response:
    server = require_server(req)
    pool = find_child(req, server, "elasticPools", "pool")
    if pool is None:
        return Response(status_code=204)
    busy(req, pool["id"])
    members = pool_members(req.store, server["id"], pool["id"])
    if members:
        raise ArmError(
            409,
            "ElasticPoolNotEmpty",
            f"The elastic pool '{pool['name']}' still holds {len(members)} database(s); move "
            "or delete them before deleting the pool.",
        )
    # Completed by common.deleted_when_succeeded.
    return start_write(req, server, POOL_DELETE, pool["id"])
