"""Restore requests: validating each restore source, restore limits, the create finalizer, and the
recoverable (geo) and restorable dropped databases restores start from."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.responses import Response

from azure_emulator import lro
from azure_emulator.arm import ArmRequest, page, respond
from azure_emulator.errors import ArmError, bad_request, not_found
from azure_emulator.providers.sql.backups import find_ltr_backup
from azure_emulator.providers.sql.common import (
    DB_TYPE,
    DROPPED,
    KEY_TYPE,
    SERVER,
    dropped_body,
    dropped_rows,
    earliest_restore,
    geo_backup_time,
    geo_recoverable,
    keyvault_version,
    live_databases,
    require_server,
    retention_days,
    router,
)
from azure_emulator.state import JSON, Store, isoformat, parse_time

if TYPE_CHECKING:
    from azure_emulator.runtime import Emulator


def restore_source(
    req: ArmRequest, server: JSON, mode: str, props: JSON
) -> tuple[JSON, datetime, JSON]:
    """Validate a restore request: (source database body, point in time, lineage)."""
    store = req.store
    now = store.now()
    requested = props.get("restorePointInTime")
    if mode == "PointInTimeRestore":
        source_id = props.get("sourceDatabaseId")
        if not source_id:
            raise bad_request("MissingSourceDatabaseId", "Missing source database identifier.")
        if not requested:
            raise bad_request("MissingRestorePointInTime", "Missing restore point in time")
        source = store.get(source_id)
        if source is None or source.get("type") != DB_TYPE:
            raise bad_request("SourceDatabaseNotFound", "The source database does not exist.")
        if source_id.lower().rsplit("/databases/", 1)[0] != server["id"].lower():
            raise bad_request(
                "InvalidSourceDatabaseId",
                "Point-in-time restore must target the server of the source database.",
            )
        point = _point_in_time(requested)
        earliest = earliest_restore(store, source)
        if source["properties"].get("status") != "Online":
            raise bad_request("SourceDatabaseNotFound", "The source database is not online.")
        if point < earliest or point > now:
            raise bad_request(
                "PitrPointInTimeInvalid",
                f"The point in time {isoformat(point)} is not valid. Valid point in time range "
                f"from {retention_days(store, source['id'])} days early to now and not before "
                f"source server creation time. The earliest restore point for database "
                f"'{source['name']}' is {isoformat(earliest)}.",
                "properties.restorePointInTime",
            )
        return (
            source,
            point,
            {
                "create_mode": mode,
                "source_database_id": source["id"],
                "source_database_name": source["name"],
                "restore_point_in_time": isoformat(point),
                "source_kind": "live",
            },
        )
    if mode == "Restore":
        dropped_id = props.get("restorableDroppedDatabaseId")
        row: JSON | None = None
        if dropped_id:
            parts = unquote(dropped_id).rstrip("/").split("/restorableDroppedDatabases/", 1)
            if len(parts) == 2:
                row = store.table(DROPPED).get(f"{parts[0]}/{parts[1]}".lower())
            if row is None:
                raise bad_request(
                    "InvalidRestorableDroppedDatabaseId",
                    "Invalid restorable dropped database identifier",
                )
        elif props.get("sourceDatabaseId"):
            if not props.get("sourceDatabaseDeletionDate"):
                raise bad_request(
                    "MissingSourceDatabaseDeletionDate", "Missing source database deletion date"
                )
            deletion = _point_in_time(props["sourceDatabaseDeletionDate"])
            server_part, _, name = props["sourceDatabaseId"].rpartition("/databases/")
            for candidate in dropped_rows(store, server_part):
                if (
                    candidate["database"]["name"].lower() == name.lower()
                    and abs((parse_time(candidate["deleted"]) - deletion).total_seconds()) < 1
                ):
                    row = candidate
            if row is None:
                raise bad_request(
                    "InvalidDroppedDatabase",
                    "Source database dropped does not exist on server within the supported recovery period.",
                )
        else:
            raise bad_request(
                "MissingRestorableDroppedDatabaseId", "Missing restorableDroppedDatabaseId"
            )
        if row["server_id"].lower() != server["id"].lower():
            raise bad_request(
                "InvalidRestorableDroppedDatabaseId",
                "A dropped database is restored to its own server.",
            )
        if row not in dropped_rows(store, row["server_id"]):
            raise bad_request(
                "InvalidDroppedDatabase",
                "Source database dropped does not exist on server within the supported recovery period.",
            )
        dropped = row["database"]
        deleted = parse_time(row["deleted"])
        earliest = parse_time(dropped_body(store, row)["properties"]["earliestRestoreDate"])
        point = _point_in_time(requested) if requested else deleted
        if point < earliest or point > deleted:
            raise bad_request(
                "PitrPointInTimeInvalid",
                f"The point in time {isoformat(point)} is not valid. The deleted database "
                f"'{dropped['name']}' can be restored to a time between {isoformat(earliest)} and "
                f"its deletion at {isoformat(deleted)}.",
                "properties.restorePointInTime",
            )
        return (
            dropped,
            point,
            {
                "create_mode": mode,
                "source_database_id": dropped["id"],
                "source_database_name": dropped["name"],
                "restore_point_in_time": isoformat(point),
                "source_kind": "dropped",
                "restorable_dropped_database": row["name"],
            },
        )
    if mode == "Recovery":
        recoverable_id = props.get("recoverableDatabaseId")
        if not recoverable_id:
            raise bad_request(
                "MissingRecoverableDatabaseId", "Missing recoverable database identifier."
            )
        server_part, sep, name = unquote(recoverable_id).rstrip("/").rpartition("/")
        if not sep or not server_part.lower().endswith("/recoverabledatabases"):
            raise bad_request(
                "InvalidRecoverableDatabaseId", "Invalid recoverable database identifier."
            )
        source = store.get(f"{server_part[: -len('/recoverableDatabases')]}/databases/{name}")
        if source is None or not geo_recoverable(source):
            raise bad_request(
                "InvalidRecoverableDatabaseId", "Invalid recoverable database identifier."
            )
        point = geo_backup_time(store)
        return (
            source,
            point,
            {
                "create_mode": mode,
                "source_database_id": source["id"],
                "source_database_name": source["name"],
                "restore_point_in_time": isoformat(point),
                "source_kind": "geo_backup",
                "recoverable_database_id": recoverable_id,
            },
        )
    backup_id = props.get("longTermRetentionBackupResourceId") or props.get(
        "recoveryServicesRecoveryPointId"
    )
    if not backup_id:
        raise bad_request(
            "MissingLongTermRetentionBackupResourceId"
            if False
            else "InvalidLongTermRetentionBackupId",
            "Missing long term retention backup resource id.",
        )
    found = find_ltr_backup(store, backup_id)
    if found is None:
        raise bad_request(
            "InvalidLongTermRetentionBackupId",
            f"The long term retention backup '{backup_id}' was not found.",
        )
    backup, _, source = found
    point = parse_time(backup["properties"]["backupTime"])
    return (
        source,
        point,
        {
            "create_mode": mode,
            "source_database_id": source["id"],
            "source_database_name": source["name"],
            "restore_point_in_time": isoformat(point),
            "source_kind": "ltr_backup",
            "ltr_backup_id": backup["id"],
        },
    )


def _point_in_time(text: Any) -> datetime:
    try:
        return parse_time(str(text))
    except ValueError as exc:
        raise bad_request(
            "PitrPointInTimeInvalid",
            f"The point in time '{text}' is not a valid date and time.",
        ) from exc


def check_restore_limits(req: ArmRequest, pool: JSON | None) -> None:
    """Concurrent restores per subscription and per pool; over the limit ARM answers 429."""
    config = req.emulator.config
    subscription = req.params["subscription"]
    running = lro.running(req.emulator, restore=True, subscription=subscription)
    in_pool = [
        r
        for r in running
        if pool is not None and str(r["labels"].get("pool", "")).lower() == pool["id"].lower()
    ]
    if len(running) >= config.max_restores_per_subscription or (
        pool is not None and len(in_pool) >= config.max_restores_per_pool
    ):
        scope = (
            f"elastic pool '{pool['name']}'"
            if pool is not None and len(in_pool) >= config.max_restores_per_pool
            else f"subscription '{subscription}'"
        )
        limit = (
            config.max_restores_per_pool
            if scope.startswith("elastic")
            else config.max_restores_per_subscription
        )
        soonest = min(parse_time(r["due"]) for r in (in_pool or running))
        wait = max(1, int((soonest - req.store.now()).total_seconds()) + 1)
        raise ArmError(
            429,
            "SubscriptionTooManyCreateUpdateRequests",
            f"Requests beyond max requests that can be processed by available resources: "
            f"{scope} already has {limit} concurrent restore operations in progress.",
            retry_after=wait,
        )


def _missing_keys(store: Store, server: JSON, source: JSON, since: datetime) -> list[str]:
    """Key versions the source's backups since ``since`` need that the target server cannot use."""
    server_uris = {
        str(k["properties"].get("uri", "")).lower() for k in store.of_type(KEY_TYPE, server["id"])
    }
    missing = []
    for entry in (source.get("_meta") or {}).get("key_history", []):
        kid = entry["kid"]
        version = keyvault_version(store, kid)
        if version is None or not version.get("enabled", True) or kid.lower() not in server_uris:
            missing.append(kid)
    return missing


@lro.finalizer("sql.database_create")
def _database_created(emulator: Emulator, op: JSON, succeeded: bool) -> JSON | None:
    store = emulator.store
    db = store.get(op["resource_id"])
    if db is None:
        return None
    if not succeeded:
        store.delete(op["resource_id"])
        for child in store.children(op["resource_id"]):
            store.delete(child["id"])
        return None
    args = op["args"]
    if args.get("source_id") and args.get("point_in_time"):
        server = store.get(op["resource_id"].rsplit("/databases/", 1)[0])
        source = store.get(args["source_id"]) or _dropped_source(store, args["source_id"]) or {}
        if server is not None:
            missing = _missing_keys(store, server, source, parse_time(args["point_in_time"]))
            if missing:
                since = (
                    (source.get("_meta") or {})
                    .get("key_history", [{}])[0]
                    .get("from", args["point_in_time"])
                )
                raise ArmError(
                    400,
                    "KeyMaterialNotFoundOnRemoteServer",
                    f"Target server '{server['name']}' does not have access to all AKV URIs created "
                    f"between {since} and {args['point_in_time']}. Please retry operation after "
                    "restoring all AKV URIs.",
                )
    now = store.now()
    db["properties"]["status"] = "Online"
    db["properties"]["creationDate"] = isoformat(now)
    lineage = db["_meta"].get("lineage")
    if lineage:
        lineage["operation_id"] = op["id"]
        lineage["completed_at"] = isoformat(now)
    store.put(db)
    return db


def _dropped_source(store: Store, db_id: str) -> JSON | None:
    for row in store.table(DROPPED).values():
        if row["database"]["id"].lower() == db_id.lower():
            database: JSON = row["database"]
            return database
    return None


# -- recoverable (geo) and restorable dropped databases -------------------------------------------


def _recoverable(store: Store, server: JSON, db: JSON) -> JSON:
    pool_id = db["properties"].get("elasticPoolId")
    return {
        "id": f"{server['id']}/recoverableDatabases/{db['name']}",
        "name": db["name"],
        "type": "Microsoft.Sql/servers/recoverableDatabases",
        "properties": {
            "edition": db["sku"].get("tier"),
            "serviceLevelObjective": db["properties"].get("currentServiceObjectiveName"),
            "elasticPoolName": pool_id.rsplit("/", 1)[-1] if pool_id else None,
            "lastAvailableBackupDate": isoformat(geo_backup_time(store)),
            "keys": {},
        },
    }


@router.route(
    "GET",
    SERVER + "/recoverableDatabases",
    "recoverable_databases.list_by_server",
    outage_exempt=True,
)
def recoverable_list(req: ArmRequest) -> Response:
    # Geo backups live in the paired region, so they stay listable during a regional outage.
    server = require_server(req)
    items = [
        _recoverable(req.store, server, db)
        for db in live_databases(req.store, server["id"])
        if geo_recoverable(db)
    ]
    return page(req, items)


@router.route(
    "GET",
    SERVER + "/recoverableDatabases/{database}",
    "recoverable_databases.get",
    outage_exempt=True,
)
def recoverable_get(req: ArmRequest) -> Response:
    server = require_server(req)
    db = req.store.get(f"{server['id']}/databases/{req.params['database']}")
    if db is None or not geo_recoverable(db):
        raise not_found("Microsoft.Sql/servers/recoverableDatabases", req.params["database"])
    return respond(_recoverable(req.store, server, db))


@router.route(
    "GET", SERVER + "/restorableDroppedDatabases", "restorable_dropped_databases.list_by_server"
)
def dropped_list(req: ArmRequest) -> Response:
    server = require_server(req)
    return page(
        req, [dropped_body(req.store, row) for row in dropped_rows(req.store, server["id"])]
    )


@router.route(
    "GET", SERVER + "/restorableDroppedDatabases/{dropped}", "restorable_dropped_databases.get"
)
def dropped_get(req: ArmRequest) -> Response:
    server = require_server(req)
    for row in dropped_rows(req.store, server["id"]):
        if row["name"].lower() == req.params["dropped"].lower():
            return respond(dropped_body(req.store, row))
    raise not_found("Microsoft.Sql/servers/restorableDroppedDatabases", req.params["dropped"])
