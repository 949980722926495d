"""Restore requests: validating each restore source, restore limits and queueing, the create
finalizer, and the recoverable (geo) and restorable dropped databases restores start from.

Azure behaviours modelled here (sources in ``docs/azure-behaviours.md``, "Restores and keys"):
the newest restorable point is the last log backup (:func:`latest_restore`); a restore past the
processing limits is queued, and only past the submission limits refused; the restored database
carries only the identity, keys, protector and tags the request names.
"""

from __future__ import annotations

from collections.abc import Callable
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
    database_keys,
    dropped_body,
    dropped_rows,
    earliest_restore,
    geo_backup_time,
    geo_recoverable,
    keys_in_use,
    keyvault_version,
    latest_restore,
    live_databases,
    require_server,
    retention_days,
    router,
)
from azure_emulator.state import JSON, Store, isoformat, parse_time

if TYPE_CHECKING:
    from azure_emulator.runtime import Emulator

Source = tuple[JSON, datetime, JSON]


# A restore point outside the window. The Databases_CreateOrUpdate error list (REST spec) has no
# code for this; ``PitrPointInTimeInvalid`` is Managed Instance's (ManagedDatabases list). The
# SQL Database list's codes for a source not restorable "within the supported recovery period"
# are these two; which one Azure answers for an out-of-window time is unconfirmed
# (docs/azure-behaviours.md, "Out-of-window restore points"). The portal never branches on them.
OUT_OF_WINDOW = "InvalidLiveDatabase"
OUT_OF_WINDOW_DROPPED = "InvalidDroppedDatabase"


def restore_source(req: ArmRequest, server: JSON, mode: str, props: JSON) -> Source:
    """Validate a restore request: (source database body, point in time, lineage)."""
    handlers: dict[str, Callable[[ArmRequest, JSON, JSON], Source]] = {
        "PointInTimeRestore": _point_in_time_source,
        "Restore": _deleted_source,
        "Recovery": _geo_source,
        "RestoreLongTermRetentionBackup": _ltr_source,
    }
    return handlers[mode](req, server, props)


def _lineage(mode: str, source: JSON, point: datetime, kind: str, **extra: Any) -> JSON:
    return {
        "create_mode": mode,
        "source_database_id": source["id"],
        "source_database_name": source["name"],
        "restore_point_in_time": isoformat(point),
        "source_kind": kind,
        **extra,
    }


def _point_in_time_source(req: ArmRequest, server: JSON, props: JSON) -> Source:
    store = req.store
    source_id = props.get("sourceDatabaseId")
    if not source_id:
        raise bad_request("MissingSourceDatabaseId", "Missing source database identifier.")
    if not props.get("restorePointInTime"):
        raise bad_request("MissingRestorePointInTime", "Missing restore point in time")
    source = store.get(source_id)
    if source is None or source.get("type") != DB_TYPE:
        raise bad_request("SourceDatabaseNotFound", "The source database does not exist.")
    if source_id.lower().rsplit("/databases/", 1)[0] != server["id"].lower():
        raise bad_request(
            "InvalidSourceDatabaseId",
            "Point-in-time restore must target the server of the source database.",
        )
    point = _point_in_time(props["restorePointInTime"])
    if source["properties"].get("status") != "Online":
        raise bad_request("SourceDatabaseNotFound", "The source database is not online.")
    earliest, latest = earliest_restore(store, source), latest_restore(store)
    if point < earliest or point > latest:
        # The newest point is the last log backup, a few minutes behind now.
        raise bad_request(
            OUT_OF_WINDOW,
            f"The point in time {isoformat(point)} is not valid. Valid point in time range "
            f"from {retention_days(store, source['id'])} days early to the last log backup "
            f"({isoformat(latest)}) and not before source server creation time. The earliest "
            f"restore point for database '{source['name']}' is {isoformat(earliest)}.",
            "properties.restorePointInTime",
        )
    return source, point, _lineage("PointInTimeRestore", source, point, "live")


def _dropped_row(store: Store, props: JSON) -> JSON:
    """The restorable-dropped row a Restore request names (by id, or by name + deletion time)."""
    dropped_id = props.get("restorableDroppedDatabaseId")
    if dropped_id:
        parts = unquote(dropped_id).rstrip("/").split("/restorableDroppedDatabases/", 1)
        row = store.table(DROPPED).get("/".join(parts).lower()) if len(parts) == 2 else None
        if row is None:
            raise bad_request(
                "InvalidRestorableDroppedDatabaseId",
                "Invalid restorable dropped database identifier",
            )
        return row
    if not props.get("sourceDatabaseId"):
        raise bad_request(
            "MissingRestorableDroppedDatabaseId", "Missing restorableDroppedDatabaseId"
        )
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
            return candidate
    raise bad_request(
        "InvalidDroppedDatabase",
        "Source database dropped does not exist on server within the supported recovery period.",
    )


def _deleted_source(req: ArmRequest, server: JSON, props: JSON) -> Source:
    store = req.store
    row = _dropped_row(store, props)
    if row["server_id"].lower() != server["id"].lower():
        raise bad_request(
            "InvalidRestorableDroppedDatabaseId",
            "A dropped database is restored to its own server.",
        )
    if row not in dropped_rows(store, row["server_id"]):
        # Also a database deleted moments ago: it becomes restorable only after a while.
        raise bad_request(
            "InvalidDroppedDatabase",
            "Source database dropped does not exist on server within the supported recovery period.",
        )
    dropped = row["database"]
    deleted = parse_time(row["deleted"])
    earliest = parse_time(dropped_body(store, row)["properties"]["earliestRestoreDate"])
    requested = props.get("restorePointInTime")
    point = _point_in_time(requested) if requested else deleted
    if point < earliest or point > deleted:
        raise bad_request(
            OUT_OF_WINDOW_DROPPED,
            f"The point in time {isoformat(point)} is not valid. The deleted database "
            f"'{dropped['name']}' can be restored to a time between {isoformat(earliest)} and "
            f"its deletion at {isoformat(deleted)}.",
            "properties.restorePointInTime",
        )
    lineage = _lineage(
        "Restore", dropped, point, "dropped", restorable_dropped_database=row["name"]
    )
    return dropped, point, lineage


def _geo_source(req: ArmRequest, server: JSON, props: JSON) -> Source:
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
    source = req.store.get(f"{server_part[: -len('/recoverableDatabases')]}/databases/{name}")
    if source is None or not geo_recoverable(source):
        raise bad_request(
            "InvalidRecoverableDatabaseId", "Invalid recoverable database identifier."
        )
    point = geo_backup_time(req.store)
    lineage = _lineage(
        "Recovery", source, point, "geo_backup", recoverable_database_id=recoverable_id
    )
    return source, point, lineage


def _ltr_source(req: ArmRequest, server: JSON, props: JSON) -> Source:
    backup_id = props.get("longTermRetentionBackupResourceId") or props.get(
        "recoveryServicesRecoveryPointId"
    )
    if not backup_id:
        raise bad_request(
            "InvalidLongTermRetentionBackupId", "Missing long term retention backup resource id."
        )
    found = find_ltr_backup(req.store, backup_id)
    if found is None:
        raise bad_request(
            "InvalidLongTermRetentionBackupId",
            f"The long term retention backup '{backup_id}' was not found.",
        )
    backup, _, source = found
    point = parse_time(backup["properties"]["backupTime"])
    lineage = _lineage(
        "RestoreLongTermRetentionBackup", source, point, "ltr_backup", ltr_backup_id=backup["id"]
    )
    return source, point, lineage


def _point_in_time(text: Any) -> datetime:
    try:
        return parse_time(str(text))
    except ValueError as exc:
        raise bad_request(
            "InvalidDatabaseCreateOrUpdateRequest",
            f"The point in time '{text}' is not a valid date and time.",
        ) from exc


# -- limits and queueing -------------------------------------------------------------------------


def restore_queue_delay(req: ArmRequest, pool: JSON | None) -> float:
    """Seconds a new restore waits in Azure's queue before it is processed (0: at once).

    Azure processes a few restores at once per elastic pool (single databases: per
    subscription) and queues the rest; only past the submission limit does it refuse (429).
    """
    config = req.emulator.config
    subscription = req.params["subscription"]
    running = lro.running(req.emulator, restore=True, subscription=subscription)
    if pool is not None:
        scope_rows = [
            r for r in running if str(r["labels"].get("pool", "")).lower() == pool["id"].lower()
        ]
        scope = f"elastic pool '{pool['name']}'"
        processed, submitted = config.max_restores_per_pool, config.max_restore_submissions_per_pool
    else:
        scope_rows = [r for r in running if not r["labels"].get("pool")]
        scope = f"subscription '{subscription}'"
        processed = config.max_restores_per_subscription
        submitted = config.max_restore_submissions_per_subscription
    if len(scope_rows) >= submitted:
        soonest = min(parse_time(r["due"]) for r in scope_rows)
        wait = max(1, int((soonest - req.store.now()).total_seconds()) + 1)
        raise ArmError(
            429,
            "SubscriptionTooManyCreateUpdateRequests",
            f"Requests beyond max requests that can be processed by available resources: "
            f"{scope} already has {submitted} restore requests submitted.",
            retry_after=wait,
        )
    if len(scope_rows) < processed:
        return 0.0
    # Queued: processed when enough of those ahead of it have finished.
    dues = sorted(parse_time(r["due"]) for r in scope_rows)
    free_at = dues[len(scope_rows) - processed]
    return max(0.0, (free_at - req.store.now()).total_seconds())


# -- keys a restore needs ------------------------------------------------------------------------


def _unreachable_keys(store: Store, server: JSON, needed: list[str], given: list[str]) -> list[str]:
    """Key versions the restore needs that neither the request nor the target server provides,
    or that the vault no longer holds enabled."""
    reachable = {k.lower() for k in given} | {
        str(k["properties"].get("uri", "")).lower() for k in store.of_type(KEY_TYPE, server["id"])
    }
    missing = []
    for kid in needed:
        version = keyvault_version(store, kid)
        if version is None or not version.get("enabled", True) or kid.lower() not in reachable:
            missing.append(kid)
    return missing


def _check_restored_keys(store: Store, op: JSON) -> None:
    args = op["args"]
    server = store.get(op["resource_id"].rsplit("/databases/", 1)[0])
    source = store.get(args["source_id"]) or _dropped_source(store, args["source_id"]) or {}
    if server is None or not args.get("point_in_time"):
        return
    point = parse_time(args["point_in_time"])
    needed = [entry["kid"] for entry in keys_in_use(source, point)]
    missing = _unreachable_keys(store, server, needed, list(args.get("keys") or []))
    if missing:
        since = keys_in_use(source, point)[0]["from"]
        raise ArmError(
            400,
            "KeyMaterialNotFoundOnRemoteServer",
            f"Target server '{server['name']}' does not have access to all AKV URIs created "
            f"between {since} and {args['point_in_time']}. Please retry operation after "
            "restoring all AKV URIs.",
        )


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
    if op["args"].get("source_id"):
        _check_restored_keys(store, op)
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


def _expand_keys(req: ArmRequest) -> bool:
    return "keys" in (req.arg("$expand") or "").lower()


def _recoverable(store: Store, server: JSON, db: JSON, *, keys: bool) -> JSON:
    """The geo backup of ``db``; with ``$expand=keys`` the key versions that backup needs."""
    pool_id = db["properties"].get("elasticPoolId")
    point = geo_backup_time(store)
    return {
        "id": f"{server['id']}/recoverableDatabases/{db['name']}",
        "name": db["name"],
        "type": "Microsoft.Sql/servers/recoverableDatabases",
        "properties": {
            "edition": db["sku"].get("tier"),
            "serviceLevelObjective": db["properties"].get("currentServiceObjectiveName"),
            "elasticPoolName": pool_id.rsplit("/", 1)[-1] if pool_id else None,
            "lastAvailableBackupDate": isoformat(point),
            "keys": database_keys(store, db, point) if keys else {},
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
        _recoverable(req.store, server, db, keys=_expand_keys(req))
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
    return respond(_recoverable(req.store, server, db, keys=_expand_keys(req)))


@router.route(
    "GET", SERVER + "/restorableDroppedDatabases", "restorable_dropped_databases.list_by_server"
)
def dropped_list(req: ArmRequest) -> Response:
    server = require_server(req)
    return page(
        req,
        [
            dropped_body(req.store, row, keys=_expand_keys(req))
            for row in dropped_rows(req.store, server["id"])
        ],
    )


@router.route(
    "GET", SERVER + "/restorableDroppedDatabases/{dropped}", "restorable_dropped_databases.get"
)
def dropped_get(req: ArmRequest) -> Response:
    server = require_server(req)
    for row in dropped_rows(req.store, server["id"]):
        if row["name"].lower() == req.params["dropped"].lower():
            return respond(dropped_body(req.store, row, keys=_expand_keys(req)))
    raise not_found("Microsoft.Sql/servers/restorableDroppedDatabases", req.params["dropped"])
