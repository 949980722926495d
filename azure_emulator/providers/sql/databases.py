"""Databases: get, list, create (and restore, via :mod:`.restores`), update, delete, rename."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from starlette.responses import Response

from azure_emulator import lro
from azure_emulator.arm import ArmRequest, page, respond
from azure_emulator.errors import ArmError, bad_request
from azure_emulator.providers.sql.backups import default_policy
from azure_emulator.providers.sql.common import (
    DATABASE,
    DATABASE_CREATE,
    DATABASE_DELETE,
    DATABASE_UPDATE,
    DB_TYPE,
    POOL,
    RESTORE_MODES,
    SERVER,
    busy,
    filled_sku,
    find_child,
    live_databases,
    master_database,
    record_dropped,
    render_database,
    require_child,
    require_database,
    require_pool,
    require_server,
    require_server_location,
    resolve_pool,
    retention_days,
    router,
    start_write,
)
from azure_emulator.providers.sql.geo_keys import check_secondaries_hold, keys_added_record
from azure_emulator.providers.sql.key_access import refresh_key_access
from azure_emulator.providers.sql.keys import check_key_usable
from azure_emulator.providers.sql.pools import check_pool_room
from azure_emulator.providers.sql.replication import (
    forget_partner,
    mark_secondary,
    partner_of,
    secondary_source,
)
from azure_emulator.providers.sql.restores import restore_queue_delay, restore_source
from azure_emulator.state import JSON, isoformat

if TYPE_CHECKING:
    from azure_emulator.runtime import Emulator


# -- databases ---------------------------------------------------------------------------------------


@router.route("GET", DATABASE, "databases.get")
def database_get(req: ArmRequest) -> Response:
    return respond(render_database(req, require_database(req)))


@router.route("GET", SERVER + "/databases", "databases.list_by_server")
def databases_list_by_server(req: ArmRequest) -> Response:
    server = require_server(req)
    items = [master_database(server)] + live_databases(req.store, server["id"])
    return page(req, [render_database(req, db) for db in items])


@router.route("GET", POOL + "/databases", "databases.list_by_elastic_pool")
def databases_list_by_pool(req: ArmRequest) -> Response:
    server = require_server(req)
    pool = require_pool(req, server)
    items = [
        db
        for db in live_databases(req.store, server["id"])
        if str(db["properties"].get("elasticPoolId") or "").lower() == pool["id"].lower()
    ]
    return page(req, [render_database(req, db) for db in items])


@router.route("GET", SERVER + "/inaccessibleDatabases", "databases.list_inaccessible_by_server")
def databases_inaccessible(req: ArmRequest) -> Response:
    server = require_server(req)
    for db in live_databases(req.store, server["id"]):
        refresh_key_access(req.store, db)
    items = [
        db
        for db in live_databases(req.store, server["id"])
        if db["properties"].get("status") == "Inaccessible"
    ]
    return page(req, [render_database(req, db) for db in items])


@router.route("PUT", DATABASE, "databases.create_or_update")
def database_put(req: ArmRequest) -> Response:
    server = require_server(req)
    body = req.json()
    props = body.get("properties") or {}
    db_id = f"{server['id']}/databases/{req.params['database']}"
    existing = req.store.get(db_id)
    mode = props.get("createMode") or "Default"
    if existing is not None and mode == "Default":
        return _database_change(req, existing, body)
    _check_new_database(req, server, body, existing, mode)
    source, point_in_time, lineage = _create_source(req, server, mode, props)
    restore = mode in RESTORE_MODES
    pool = resolve_pool(req, server, props["elasticPoolId"]) if props.get("elasticPoolId") else None
    sku = _new_database_sku(body, pool, source or {})
    queued = restore_queue_delay(req, pool) if restore else 0.0
    db = _new_database(req, server, body, pool, sku, source or {}, lineage)
    _take_keys(req, db, body)
    if mode == "Secondary" and source is not None:
        mark_secondary(req.store, source, db)
    req.store.put(db)
    for child in ("backupShortTermRetentionPolicies", "backupLongTermRetentionPolicies"):
        template_child = req.store.get(f"{source['id']}/{child}/default") if source else None
        default_policy(req.store, db_id, child, template_child)
    labels: JSON = {"restore": restore}
    if pool is not None:
        labels["pool"] = pool["id"]
    response = start_write(
        req,
        server,
        DATABASE_CREATE,
        db_id,
        args={
            "mode": mode,
            "point_in_time": isoformat(point_in_time) if point_in_time else None,
            "source_id": source["id"] if source else None,
            "keys": sorted(props.get("keys") or {}),
        },
        labels=labels,
        delay_seconds=queued,
    )
    if lineage:
        lineage["operation_id"] = _last_operation_id(req, db_id)
    return response


def _create_source(
    req: ArmRequest, server: JSON, mode: str, props: JSON
) -> tuple[JSON | None, datetime | None, JSON]:
    """What a create starts from: nothing, a restore's source (with its point in time and
    lineage), or the primary a geo-secondary replicates (seeded from its current data)."""
    if mode == "Default":
        return None, None, {}
    if mode == "Secondary":
        return secondary_source(req, server, props), None, {}
    return restore_source(req, server, mode, props)


def _check_new_database(
    req: ArmRequest, server: JSON, body: JSON, existing: JSON | None, mode: str
) -> None:
    """Azure's refusals of a create before anything is looked up: the name is taken (a restore
    never overwrites), the location is not the server's, the create mode is unknown."""
    if existing is not None or req.params["database"].lower() == "master":
        raise ArmError(
            409,
            "RemoteDatabaseExists",
            f"The destination database name '{req.params['database']}' already exists on the "
            f"destination server '{server['name']}'.",
        )
    require_server_location(body, server)
    if mode not in ("Default", "Secondary", *RESTORE_MODES):
        raise bad_request(
            "InvalidDatabaseCreateOrUpdateRequest",
            f"The create mode '{mode}' is not supported by this emulator.",
        )


def _new_database_sku(body: JSON, pool: JSON | None, template: JSON) -> JSON:
    """The new database's SKU: ElasticPool in a pool; else the request's, else a single
    restore source's, else GP_Gen5_2 (a SKU named alone is filled in as Azure reports it)."""
    sku = body.get("sku")
    if pool is not None:
        if sku and sku.get("name") not in ("ElasticPool", None):
            raise _refuse_pool_with_sku()
        return {"name": "ElasticPool", "tier": pool["sku"]["tier"], "capacity": 0}
    if not sku and template and template.get("properties", {}).get("elasticPoolId") is None:
        sku = template.get("sku")
    sku = sku or {"name": "GP_Gen5", "tier": "GeneralPurpose", "family": "Gen5", "capacity": 2}
    return filled_sku(sku)


def _new_database(
    req: ArmRequest,
    server: JSON,
    body: JSON,
    pool: JSON | None,
    sku: JSON,
    template: JSON,
    lineage: JSON,
) -> JSON:
    """The database as created: settings from the request, else from the restore source."""
    template_meta = template.get("_meta") or {}
    return {
        "id": f"{server['id']}/databases/{req.params['database']}",
        "name": req.params["database"],
        "type": DB_TYPE,
        "location": server["location"],
        "kind": "v12.0,user,pool" if pool is not None else "v12.0,user",
        # Azure does not restore tags: the copy has those of the request only.
        "tags": body.get("tags") or {},
        "sku": sku,
        "properties": _new_database_properties(req, body, pool, sku, template),
        "_meta": {
            "tenant": template_meta.get("tenant"),
            "used_bytes": template_meta.get("used_bytes", 0),
            "metrics": template_meta.get("metrics"),
            "key_history": [],
            "lineage": lineage or None,
        },
    }


def _new_database_properties(
    req: ArmRequest, body: JSON, pool: JSON | None, sku: JSON, template: JSON
) -> JSON:
    props = body.get("properties") or {}
    template_props = template.get("properties", {})
    redundancy = (
        props.get("requestedBackupStorageRedundancy")
        or template_props.get("requestedBackupStorageRedundancy")
        or "Geo"
    )
    slo = "ElasticPool" if pool is not None else _slo_name(sku)
    return {
        "collation": props.get("collation")
        or template_props.get("collation")
        or "SQL_Latin1_General_CP1_CI_AS",
        "maxSizeBytes": props.get("maxSizeBytes")
        or template_props.get("maxSizeBytes")
        or 34359738368,
        "status": "Restoring"
        if (props.get("createMode") or "Default") in RESTORE_MODES
        else "Creating",
        "databaseId": str(uuid.uuid4()),
        "creationDate": isoformat(req.store.now()),
        "currentServiceObjectiveName": slo,
        "requestedServiceObjectiveName": slo,
        "defaultSecondaryLocation": "australiasoutheast",
        "catalogCollation": "SQL_Latin1_General_CP1_CI_AS",
        "zoneRedundant": bool(props.get("zoneRedundant", False)),
        "elasticPoolId": pool["id"] if pool is not None else None,
        "readScale": "Disabled",
        "currentSku": dict(sku),
        "currentBackupStorageRedundancy": redundancy,
        "requestedBackupStorageRedundancy": redundancy,
        "isLedgerOn": False,
        "availabilityZone": "NoPreference",
        # Identity, keys and protector come from the request alone: a restore that omits
        # them falls back to the server's encryption (here service-managed).
        "encryptionProtector": props.get("encryptionProtector"),
        "encryptionProtectorAutoRotation": bool(
            props.get("encryptionProtectorAutoRotation", False)
        ),
    }


def _take_keys(req: ArmRequest, db: JSON, body: JSON) -> None:
    """The request's identity, keys and protector; each key must be usable (else nothing is
    created)."""
    props = body.get("properties") or {}
    if body.get("identity"):
        db["identity"] = body["identity"]
    for kid in props.get("keys") or {}:
        check_key_usable(req.store, kid)
    if props.get("encryptionProtector"):
        check_key_usable(req.store, props["encryptionProtector"])
        db["_meta"]["key_history"].append(
            {"kid": props["encryptionProtector"], "from": db["properties"]["creationDate"]}
        )


def _last_operation_id(req: ArmRequest, resource_id: str) -> str | None:
    rows = [
        r
        for r in req.store.table(lro.TABLE).values()
        if r["resource_id"].lower() == resource_id.lower()
    ]
    return max(rows, key=lambda r: r["started"])["id"] if rows else None


def _slo_name(sku: JSON) -> str:
    name = str(sku.get("name", ""))
    if name.startswith(("GP_", "BC_", "HS_")) and sku.get("capacity"):
        return f"{name}_{sku['capacity']}"
    return name


def _database_change(req: ArmRequest, db: JSON, body: JSON) -> Response:
    """PATCH (and PUT on an existing database): tags/CMK apply at once; SKU and pool via an LRO.

    Every refusal comes before any change, so a refused request leaves the database as it was.
    """
    server = require_server(req)
    busy(req, db["id"])
    props = body.get("properties") or {}
    for kid in props.get("keys") or {}:
        check_key_usable(req.store, kid)
    protector = props.get("encryptionProtector")
    if protector and protector != db["properties"].get("encryptionProtector"):
        check_key_usable(req.store, protector)
        check_secondaries_hold(req.store, db, protector)
    change = _scale_change(req, server, db, body)
    _apply_settings(req, db, body)
    req.store.put(db)
    if not change:
        return respond(render_database(req, db))
    if "sku" in change:
        db["properties"]["requestedServiceObjectiveName"] = (
            "ElasticPool" if change.get("pool") else _slo_name(change["sku"])
        )
    return start_write(req, server, DATABASE_UPDATE, db["id"], args=change, labels={"scale": True})


def _apply_settings(req: ArmRequest, db: JSON, body: JSON) -> None:
    """What a change applies at once: tags, the protector and keys, identity, backup redundancy."""
    props = body.get("properties") or {}
    now = isoformat(req.store.now())
    if "tags" in body:
        db["tags"] = body["tags"] or {}
    if "encryptionProtector" in props and props["encryptionProtector"] != db["properties"].get(
        "encryptionProtector"
    ):
        if props["encryptionProtector"]:
            db["_meta"].setdefault("key_history", []).append(
                {"kid": props["encryptionProtector"], "from": now}
            )
        db["properties"]["encryptionProtector"] = props["encryptionProtector"]
    for name in ("encryptionProtectorAutoRotation", "requestedBackupStorageRedundancy"):
        if name in props:
            db["properties"][name] = props[name]
    if "keys" in props:
        keys_added_record(db, list(props["keys"] or {}), now)
    if "identity" in body:
        db["identity"] = body["identity"]
    if "requestedBackupStorageRedundancy" in props:
        # Redundancy changes apply to future backups; Azure flips "current" after a while.
        db["properties"]["currentBackupStorageRedundancy"] = props[
            "requestedBackupStorageRedundancy"
        ]


def _refuse_pool_with_sku() -> ArmError:
    return bad_request(
        "ElasticPoolSkuCombinationInvalid",
        "Elastic pool and sku can be specified together only if sku is specified as 'ElasticPool'.",
    )


def _scale_change(req: ArmRequest, server: JSON, db: JSON, body: JSON) -> JSON:
    """The part of a change that runs as an LRO (pool, SKU, max size), checked; empty if none."""
    props = body.get("properties") or {}
    sku = body.get("sku")
    change: JSON = {}
    if "elasticPoolId" in props:
        change.update(_pool_change(req, server, db, props["elasticPoolId"], sku))
    elif sku:
        if db["properties"].get("elasticPoolId") and sku.get("name") != "ElasticPool":
            raise _refuse_pool_with_sku()
        change["sku"] = filled_sku(sku)
    if "maxSizeBytes" in props:
        used = int(db.get("_meta", {}).get("used_bytes", 0))
        if int(props["maxSizeBytes"]) < used:
            raise bad_request(
                "CurrentDatabaseSizeExceedsMaxSize",
                "User attempted to reduce the max size for a database to a size smaller than the current usage.",
            )
        change["maxSizeBytes"] = int(props["maxSizeBytes"])
    return change


def _pool_change(
    req: ArmRequest, server: JSON, db: JSON, pool_id: str | None, sku: JSON | None
) -> JSON:
    """Into (or between) pools, or out of one (which needs a SKU of its own)."""
    if not pool_id:
        if not sku or sku.get("name") in ("ElasticPool", None):
            raise bad_request(
                "MissingSkuName",
                "Sku name is required when removing a database from an elastic pool.",
            )
        return {"pool": None, "sku": filled_sku(sku)}
    pool = resolve_pool(req, server, pool_id)
    if sku and sku.get("name") not in ("ElasticPool", None):
        raise _refuse_pool_with_sku()
    if str(db["properties"].get("elasticPoolId") or "").lower() != pool["id"].lower():
        check_pool_room(req, server, pool, db)
    return {
        "pool": pool["id"],
        "sku": {"name": "ElasticPool", "tier": pool["sku"]["tier"], "capacity": 0},
    }


@router.route("PATCH", DATABASE, "databases.update")
def database_patch(req: ArmRequest) -> Response:
    return _database_change(req, require_database(req), req.json())


@lro.finalizer("sql.database_update")
def _database_updated(emulator: Emulator, op: JSON, succeeded: bool) -> JSON | None:
    db = emulator.store.get(op["resource_id"])
    if db is None:
        return None
    change = op["args"]
    props = db["properties"]
    if succeeded:
        if "pool" in change:
            props["elasticPoolId"] = change["pool"]
            db["kind"] = "v12.0,user,pool" if change["pool"] else "v12.0,user"
        if "sku" in change:
            db["sku"] = change["sku"]
            props["currentSku"] = dict(change["sku"])
            props["currentServiceObjectiveName"] = (
                "ElasticPool" if props.get("elasticPoolId") else _slo_name(change["sku"])
            )
        if "maxSizeBytes" in change:
            props["maxSizeBytes"] = change["maxSizeBytes"]
    props["requestedServiceObjectiveName"] = props["currentServiceObjectiveName"]
    emulator.store.put(db)
    return db


@router.route("DELETE", DATABASE, "databases.delete")
def database_delete(req: ArmRequest) -> Response:
    server = require_server(req)
    db = find_child(req, server, "databases", "database")
    if db is None:
        return Response(status_code=204)
    for row in lro.running(req.emulator):
        # Deleting a database that is still being restored cancels the restore (Azure's way
        # to stop one); the half-restored database goes and is not listed as dropped.
        if (
            row["resource_id"].lower() == db["id"].lower()
            and row["operation"] == "databases.create_or_update"
        ):
            lro.cancel(
                req.emulator,
                row,
                reason=f"Database '{db['name']}' was deleted while it was being created.",
            )
            return Response(status_code=204)
    busy(req, db["id"])
    linked = partner_of(req.store, db)
    if linked is not None and linked[1] == "Primary":
        raise bad_request(
            "DatabaseIsGeoPrimary",
            f"Database '{db['name']}' has a geo-replication secondary; remove the replication link first.",
        )
    return start_write(req, server, DATABASE_DELETE, db["id"])


@lro.finalizer("sql.database_delete")
def _database_deleted(emulator: Emulator, op: JSON, succeeded: bool) -> JSON | None:
    store = emulator.store
    db = store.get(op["resource_id"])
    if not succeeded or db is None:
        return None
    db["_meta"]["retention_days"] = retention_days(store, db["id"])
    for child in store.children(db["id"]):
        if child["type"].endswith("RetentionPolicies"):
            db["_meta"].setdefault("policies", {})[child["type"]] = child["properties"]
        store.delete(child["id"])
    # LTR backups of a dropped database stay listable (databaseState=Deleted): keep its policy.
    store.delete(db["id"])
    forget_partner(store, db)
    row = record_dropped(store, db, store.now())
    ltr = (
        db["_meta"]
        .get("policies", {})
        .get("Microsoft.Sql/servers/databases/backupLongTermRetentionPolicies")
    )
    if ltr:
        store.table("dropped_ltr_policies")[row["name"].lower()] = ltr
    return None


@router.route("POST", DATABASE + "/move", "databases.rename")
def database_rename(req: ArmRequest) -> Response:
    server = require_server(req)
    db = require_child(req, server, "databases", "database", DB_TYPE)
    target = str(req.json().get("id") or "")
    target_server, sep, new_name = target.rstrip("/").rpartition("/databases/")
    if not sep or not new_name:
        raise bad_request("InvalidResourceId", "Invalid resource identifier.", "id")
    if target_server.lower() != server["id"].lower():
        raise bad_request(
            "InvalidResourceId", "A database can only be renamed within its server.", "id"
        )
    if new_name.lower() == db["name"].lower():
        return Response(status_code=200)
    # Codes from the Databases_Rename error list of the REST spec (docs/azure-behaviours.md).
    if req.store.get(target) is not None or new_name.lower() == "master":
        raise bad_request(
            "DatabaseNameInUse",
            f"The database name '{new_name}' is already in use on server '{server['name']}'.",
        )
    if db.get("_meta", {}).get("geo_secondary_id") or db.get("_meta", {}).get("replica_of"):
        raise ArmError(
            409,
            "InvalidOperationForDatabaseInReplicationRelationship",
            f"The operation cannot be performed on database '{db['name']}' because it is "
            "involved in a replication relationship.",
        )
    busy(req, db["id"])
    new_id = f"{server['id']}/databases/{new_name}"

    def rename(body: JSON) -> None:
        if body["id"].lower() == new_id.lower():
            body["name"] = new_name

    req.store.move(db["id"], new_id, rename)
    moved = req.store.get(new_id)
    if moved is not None:
        moved.setdefault("_meta", {}).setdefault("renames", []).append(
            {"from": db["id"].rsplit("/", 1)[-1], "to": new_name, "at": isoformat(req.store.now())}
        )
    return Response(status_code=200)
