"""Shared pieces of the Microsoft.Sql emulator: the router, path templates, lookups and derived state."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from starlette.responses import Response

from azure_emulator import lro
from azure_emulator.arm import ArmRequest, Router, normalise_region
from azure_emulator.errors import ArmError, bad_request, not_found
from azure_emulator.providers.sql.key_access import refresh_key_access
from azure_emulator.state import JSON, Store, isoformat, parse_time

if TYPE_CHECKING:
    from azure_emulator.runtime import Emulator

router = Router()

SUB = "/subscriptions/{subscription}"
RG = SUB + "/resourceGroups/{group}"
SERVER = RG + "/providers/Microsoft.Sql/servers/{server}"
DATABASE = SERVER + "/databases/{database}"
POOL = SERVER + "/elasticPools/{pool}"
LTR_DB = "/providers/Microsoft.Sql/locations/{location}/longTermRetentionServers/{ltr_server}/longTermRetentionDatabases/{ltr_database}"

SERVER_TYPE = "Microsoft.Sql/servers"
DB_TYPE = "Microsoft.Sql/servers/databases"
POOL_TYPE = "Microsoft.Sql/servers/elasticPools"
KEY_TYPE = "Microsoft.Sql/servers/keys"
DROPPED = "dropped_databases"
KEYVAULT_KEYS = "keyvault_keys"

# .NET ticks (100 ns since 0001-01-01) are what Azure puts in dropped-database and LTR names.
_TICKS_AT_EPOCH = 621355968000000000
GEO_BACKUP_LAG = timedelta(hours=1)
# Log backups every few minutes bound the newest restorable point; a deleted database becomes
# restorable some minutes after the delete (docs/azure-behaviours.md, "Restores and keys").
LOG_BACKUP_MINUTES = 5
DROPPED_RESTORABLE_AFTER = timedelta(minutes=5)
STANDARD_POOL_DTUS = (50, 100, 200, 300, 400, 800, 1200, 1600, 2000, 2500, 3000)
RESTORE_MODES = ("PointInTimeRestore", "Restore", "Recovery", "RestoreLongTermRetentionBackup")


# -- helpers ----------------------------------------------------------------------------------------


def ticks(moment: datetime) -> int:
    return _TICKS_AT_EPOCH + int(moment.timestamp() * 10_000_000)


def server_id_of(req: ArmRequest) -> str:
    p = req.params
    return (
        f"/subscriptions/{p['subscription']}/resourceGroups/{p['group']}"
        f"/providers/Microsoft.Sql/servers/{p['server']}"
    )


def require_server(req: ArmRequest, *, nested: bool = True) -> JSON:
    """The server of the URL; nested resources under a missing server get ARM's parent error."""
    server_id = server_id_of(req)
    server = req.store.get(server_id)
    if server is not None:
        return server
    group_id = server_id.split("/providers/")[0]
    if req.store.get(group_id) is None:
        raise ArmError(
            404,
            "ResourceGroupNotFound",
            f"Resource group '{req.params['group']}' could not be found.",
        )
    if nested:
        raise ArmError(
            404,
            "ParentResourceNotFound",
            f"Can not perform requested operation on nested resource. Parent resource "
            f"'{req.params['server']}' not found.",
        )
    raise ArmError(
        404,
        "ResourceNotFound",
        f"The Resource 'Microsoft.Sql/servers/{req.params['server']}' under resource group "
        f"'{req.params['group']}' was not found. For more details please go to "
        "https://aka.ms/ARMResourceNotFoundFix",
    )


def require_database(req: ArmRequest) -> JSON:
    server = require_server(req)
    db = req.store.get(f"{server['id']}/databases/{req.params['database']}")
    if db is None:
        if req.params["database"].lower() == "master":
            return master_database(server)
        raise not_found(DB_TYPE, req.params["database"])
    return db


def master_database(server: JSON) -> JSON:
    """Azure lists each server's ``master`` database; it is not stored, only shown."""
    created = server.get("_meta", {}).get("created") or isoformat(
        parse_time("2020-01-01T00:00:00Z")
    )
    return {
        "id": f"{server['id']}/databases/master",
        "name": "master",
        "type": DB_TYPE,
        "location": server["location"],
        "kind": "v12.0,system",
        "managedBy": server["id"],
        "sku": {"name": "System", "tier": "System", "capacity": 0},
        "properties": {
            "collation": "SQL_Latin1_General_CP1_CI_AS",
            "maxSizeBytes": 32212254720,
            "status": "Online",
            "databaseId": str(uuid.uuid5(uuid.NAMESPACE_URL, server["id"].lower() + "/master")),
            "creationDate": created,
            "currentServiceObjectiveName": "System0",
            "requestedServiceObjectiveName": "System0",
            "defaultSecondaryLocation": "australiasoutheast",
            "catalogCollation": "SQL_Latin1_General_CP1_CI_AS",
            "zoneRedundant": False,
            "readScale": "Disabled",
            "currentSku": {"name": "System", "tier": "System", "capacity": 0},
            "currentBackupStorageRedundancy": "Geo",
            "requestedBackupStorageRedundancy": "Geo",
            "isLedgerOn": False,
        },
    }


def retention_days(store: Store, db_id: str) -> int:
    policy = store.get(f"{db_id}/backupShortTermRetentionPolicies/default")
    return int(policy["properties"]["retentionDays"]) if policy else 7


def latest_restore(store: Store) -> datetime:
    """The newest restorable point: the last log backup (taken every few minutes), not now."""
    now = store.now()
    minutes = now.minute - now.minute % LOG_BACKUP_MINUTES
    return now.replace(minute=minutes, second=0, microsecond=0)


def earliest_restore(store: Store, db: JSON, *, until: datetime | None = None) -> datetime:
    """PITR window start: max(creation, now - retention) (for a dropped DB: deletion - retention)."""
    created = parse_time(db["properties"]["creationDate"])
    end = until or store.now()
    return max(created, end - timedelta(days=retention_days(store, db["id"])))


def render_database(req: ArmRequest, db: JSON) -> JSON:
    """The database as Azure returns it now (derived fields refreshed)."""
    refresh_key_access(req.store, db)
    body = {k: v for k, v in db.items() if not k.startswith("_")}
    props = dict(body.get("properties", {}))
    if props.get("status") == "Online" and props.get("creationDate"):
        props["earliestRestoreDate"] = isoformat(earliest_restore(req.store, db))
    expand = req.arg("$expand") or ""
    if "keys" in expand.lower():
        props["keys"] = database_keys(req.store, db, _key_filter_time(req.store, expand))
        if "pointintime" not in expand.lower():
            # Without a point in time Azure lists every key the database holds, including
            # versions added to its keys that never became its protector.
            for entry in (db.get("_meta") or {}).get("keys_added", []):
                props["keys"].setdefault(
                    entry["kid"], _database_key(req.store, entry["kid"], entry["from"])
                )
    body["properties"] = props
    return body


def _key_filter_time(store: Store, expand: str) -> datetime:
    """The T of ``keys($filter=pointInTime('T'))``; ``'current'`` or no filter: now."""
    match = re.search(r"pointInTime\(\s*'([^']*)'\s*\)", expand, re.IGNORECASE)
    if match is None or match.group(1).lower() == "current":
        return store.now()
    try:
        return parse_time(match.group(1))
    except ValueError as exc:
        raise bad_request(
            "InvalidExpandFilter", f"The point in time '{match.group(1)}' is not a valid time."
        ) from exc


def keys_in_use(db: JSON, at: datetime) -> list[JSON]:
    """Key-history entries (``{"kid", "from"}``) in use at ``at``: every version that had become
    the database's protector by then (backups taken since still need them), none added later."""
    return [
        entry
        for entry in (db.get("_meta") or {}).get("key_history", [])
        if parse_time(entry["from"]) <= at
    ]


def database_keys(store: Store, db: JSON, at: datetime) -> JSON:
    """The ``keys`` map Azure reports for ``db`` at ``at`` (kid → DatabaseKey)."""
    return {
        entry["kid"]: _database_key(store, entry["kid"], entry["from"])
        for entry in keys_in_use(db, at)
    }


def _database_key(store: Store, kid: str, since: str) -> JSON:
    version = keyvault_version(store, kid)
    return {
        "type": "AzureKeyVault",
        "thumbprint": (version or {}).get("version", "")[:40].upper(),
        "creationDate": since,
        "subregion": "australiaeast",
        "keyVersion": kid.rstrip("/").rsplit("/", 1)[-1],
    }


def keyvault_version(store: Store, kid: str) -> JSON | None:
    """The Key Vault key version a kid names (``.../keys/{name}/{version}``), if it exists."""
    match = re.search(r"/keys/([^/]+)/([0-9a-fA-F]+)/?$", kid or "")
    if match is None:
        return None
    row = store.table(KEYVAULT_KEYS).get(match.group(1).lower())
    if row is None or row.get("deleted"):
        return None
    return next(
        (v for v in row["versions"] if v["version"].lower() == match.group(2).lower()), None
    )


def pools_on(store: Store, server_id: str) -> dict[str, JSON]:
    return {p["id"].lower(): p for p in store.of_type(POOL_TYPE, server_id)}


def resolve_pool(req: ArmRequest, server: JSON, pool_id: str) -> JSON:
    pool = req.store.get(pool_id)
    if pool is None or not pool_id.lower().startswith(server["id"].lower() + "/"):
        name = pool_id.rstrip("/").rsplit("/", 1)[-1]
        raise bad_request(
            "TargetElasticPoolDoesNotExist",
            f"The elastic pool '{name}' does not exist in server '{server['name']}'.",
        )
    return pool


def record_dropped(store: Store, body: JSON, deleted: datetime) -> JSON:
    """Keep a deleted database restorable: row keyed ``<server id>/<name>,<ticks>`` (lower-case)."""
    server_id = body["id"].rsplit("/databases/", 1)[0]
    name = f"{body['name']},{ticks(deleted)}"
    row = {"server_id": server_id, "name": name, "deleted": isoformat(deleted), "database": body}
    store.table(DROPPED)[f"{server_id}/{name}".lower()] = row
    store.touch()
    return row


def dropped_rows(store: Store, server_id: str) -> list[JSON]:
    """Dropped databases of a server still inside their PITR retention."""
    now = store.now()
    rows = []
    for row in store.table(DROPPED).values():
        if row["server_id"].lower() != server_id.lower():
            continue
        days = int(row["database"].get("_meta", {}).get("retention_days", 7))
        deleted = parse_time(row["deleted"])
        if deleted + DROPPED_RESTORABLE_AFTER <= now <= deleted + timedelta(days=days):
            rows.append(row)
    return sorted(rows, key=lambda r: r["deleted"])


def dropped_body(store: Store, row: JSON, *, keys: bool = False) -> JSON:
    db = row["database"]
    deleted = parse_time(row["deleted"])
    created = parse_time(db["properties"]["creationDate"])
    days = int(db.get("_meta", {}).get("retention_days", 7))
    return {
        "id": f"{row['server_id']}/restorableDroppedDatabases/{row['name']}",
        "name": row["name"],
        "type": "Microsoft.Sql/servers/restorableDroppedDatabases",
        "location": db["location"],
        "sku": db.get("sku"),
        "tags": db.get("tags", {}),
        "properties": {
            "databaseName": db["name"],
            "maxSizeBytes": db["properties"].get("maxSizeBytes"),
            "creationDate": db["properties"]["creationDate"],
            "deletionDate": row["deleted"],
            "earliestRestoreDate": isoformat(max(created, deleted - timedelta(days=days))),
            "backupStorageRedundancy": db["properties"].get(
                "currentBackupStorageRedundancy", "Geo"
            ),
            "keys": database_keys(store, db, deleted) if keys else {},
        },
    }


def geo_backup_time(store: Store) -> datetime:
    """Geo-replicated backups lag about an hour; we use the last 10-minute mark an hour ago."""
    moment = store.now() - GEO_BACKUP_LAG
    return moment.replace(minute=moment.minute - moment.minute % 10, second=0, microsecond=0)


def geo_recoverable(db: JSON) -> bool:
    redundancy = db["properties"].get("currentBackupStorageRedundancy", "Geo")
    return redundancy in ("Geo", "GeoZone") and db["properties"].get("status") == "Online"


def live_databases(store: Store, server_id: str) -> list[JSON]:
    return sorted(store.of_type(DB_TYPE, server_id), key=lambda d: d["name"].lower())


def busy(req: ArmRequest, db_id: str) -> None:
    """Azure refuses a second change while one runs on the same database."""
    for row in lro.running(req.emulator):
        if row["resource_id"].lower() == db_id.lower():
            raise ArmError(
                409,
                "ConflictingDatabaseOperation",
                f"There is already an operation ({row['operation']}) in progress on database "
                f"'{db_id.rsplit('/', 1)[-1]}'. Wait until it has finished and try again.",
            )


def accepted(req: ArmRequest, operation: str) -> JSON:
    """The body of a SQL long-running write's 202, as Azure records it: what started and when,
    not the resource (read the resource once the operation completes)."""
    return {"operation": operation, "startTime": isoformat(req.store.now())}


@dataclass(frozen=True)
class Write:
    """A kind of SQL long-running write: its LRO finalizer, the ``operation`` Azure names in the
    202 body, and the kind in its status URLs (``<kind>AzureAsyncOperation``)."""

    finalize: str
    operation: str
    status_kind: str = "database"


DATABASE_CREATE = Write("sql.database_create", "CreateLogicalDatabase")
DATABASE_UPDATE = Write("sql.database_update", "UpdateLogicalDatabase")
DATABASE_DELETE = Write("sql.database_delete", "DropLogicalDatabase")
POOL_CREATE = Write("sql.pool_create", "CreateElasticPool", "elasticPool")
POOL_UPDATE = Write("sql.pool_update", "UpdateElasticPool", "elasticPool")
POOL_DELETE = Write("sql.pool_delete", "DropElasticPool", "elasticPool")
SERVER_KEY_CREATE = Write("sql.server_key_create", "UpsertServerKey", "serverKey")
SERVER_KEY_DELETE = Write("sql.server_key_delete", "DropServerKey", "serverKey")
PROTECTOR_UPDATE = Write(
    "sql.protector_update", "UpsertLogicalServerEncryptionProtector", "encryptionProtector"
)


def start_write(
    req: ArmRequest,
    server: JSON,
    write: Write,
    resource_id: str,
    *,
    args: JSON | None = None,
    labels: JSON | None = None,
    delay_seconds: float = 0.0,
) -> Response:
    """Start a long-running write on one of ``server``'s resources: 202 with Azure-AsyncOperation
    and Location and the small :func:`accepted` body; the operation is labelled with its
    subscription (restore queueing counts by it) plus ``labels``."""
    return lro.start(
        req,
        finalize=write.finalize,
        resource_id=resource_id,
        location=server["location"],
        args=args,
        body=accepted(req, write.operation),
        status=202,
        status_kind=write.status_kind,
        labels={"subscription": req.params["subscription"], **(labels or {})},
        delay_seconds=delay_seconds,
    )


@lro.finalizer("sql.pool_delete")
@lro.finalizer("sql.server_key_delete")
def deleted_when_succeeded(emulator: Emulator, op: JSON, succeeded: bool) -> JSON | None:
    """A delete's completion: the resource goes once the operation succeeds (a failed delete
    leaves it as it was)."""
    if succeeded:
        emulator.store.delete(op["resource_id"])
    return None


def require_child(
    req: ArmRequest, server: JSON, collection: str, param: str, resource_type: str
) -> JSON:
    """The resource the URL names under ``server`` (``<server>/<collection>/<name>``), or ARM's
    not-found."""
    found = find_child(req, server, collection, param)
    if found is None:
        raise not_found(resource_type, req.params[param])
    return found


def find_child(req: ArmRequest, server: JSON, collection: str, param: str) -> JSON | None:
    """The resource the URL names under ``server`` if it exists (deletes answer 204 if not)."""
    return req.store.get(f"{server['id']}/{collection}/{req.params[param]}")


def require_pool(req: ArmRequest, server: JSON) -> JSON:
    return require_child(req, server, "elasticPools", "pool", POOL_TYPE)


def require_server_location(body: JSON, server: JSON) -> None:
    """A create names a location, and it is its server's (Azure's codes for each refusal)."""
    if not body.get("location"):
        raise bad_request(
            "LocationRequired", "The location property is required for this definition."
        )
    if normalise_region(body["location"]) != normalise_region(server["location"]):
        raise bad_request(
            "LocationNotAvailableForResourceType",
            f"The provided location '{body['location']}' does not match the location of server "
            f"'{server['name']}' ({server['location']}).",
        )


# Capacity Azure fills in when a database names only its SKU (DTU objectives by name).
DTU_CAPACITY = {"Basic": 5, "S0": 10, "S1": 20, "S2": 50, "S3": 100, "S4": 200, "S6": 400,
                "S7": 800, "S9": 1600, "S12": 3000, "P1": 125, "P2": 250, "P4": 500,
                "P6": 1000, "P11": 1750, "P15": 4000}  # fmt: skip
DTU_TIER = {"B": "Basic", "S": "Standard", "P": "Premium"}
VCORE_TIER = {"GP": "GeneralPurpose", "BC": "BusinessCritical", "HS": "Hyperscale"}


def filled_sku(sku: JSON) -> JSON:
    """``sku`` with the tier, family and capacity Azure reports for it."""
    filled = dict(sku)
    name = str(filled.get("name") or "")
    prefix = name.split("_", 1)[0]
    if prefix in VCORE_TIER:
        filled.setdefault("tier", VCORE_TIER[prefix])
        filled.setdefault("family", name.split("_")[1] if "_" in name else "Gen5")
        filled.setdefault("capacity", 2)
    elif name in DTU_CAPACITY:
        filled.setdefault("tier", DTU_TIER[name[0]])
        filled.setdefault("capacity", DTU_CAPACITY[name])
    return filled
