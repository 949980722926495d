"""Microsoft.Sql (azure-mgmt-sql 4.0.0, api-version 2025-01-01); paths and shapes per AZURE_FACTS §1-4.

Backups are not stored: restore points, LTR backups and geo backups (recoverable databases) are
derived from each database's creation time, retention policies and the clock, so they move with
time as Azure's do. A restore creates the database at once in state ``Restoring`` and an LRO
brings it ``Online``; its lineage goes in ``_meta.lineage`` (seen in the control snapshot).

Error codes come from the Databases_CreateOrUpdate error list of the REST spec where one fits
(``PitrPointInTimeInvalid``, ``SourceDatabaseNotFound``, ``RemoteDatabaseExists``,
``TargetElasticPoolDoesNotExist``, ``SubscriptionTooManyCreateUpdateRequests``, ...).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.responses import Response

from azure_emulator import lro
from azure_emulator.arm import ArmRequest, Router, normalise_region, page, respond, split_id
from azure_emulator.errors import ArmError, bad_request, not_found
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


def earliest_restore(store: Store, db: JSON, *, until: datetime | None = None) -> datetime:
    """PITR window start: max(creation, now - retention) (for a dropped DB: deletion - retention)."""
    created = parse_time(db["properties"]["creationDate"])
    end = until or store.now()
    return max(created, end - timedelta(days=retention_days(store, db["id"])))


def render_database(req: ArmRequest, db: JSON) -> JSON:
    """The database as Azure returns it now (derived fields refreshed)."""
    body = {k: v for k, v in db.items() if not k.startswith("_")}
    props = dict(body.get("properties", {}))
    if props.get("status") == "Online" and props.get("creationDate"):
        props["earliestRestoreDate"] = isoformat(earliest_restore(req.store, db))
    expand = (req.arg("$expand") or "").lower()
    if "keys" in expand:
        props["keys"] = {
            entry["kid"]: _database_key(req.store, entry["kid"], entry["from"])
            for entry in db.get("_meta", {}).get("key_history", [])
        }
    body["properties"] = props
    return body


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


def _pools_on(store: Store, server_id: str) -> dict[str, JSON]:
    return {p["id"].lower(): p for p in store.of_type(POOL_TYPE, server_id)}


def _resolve_pool(req: ArmRequest, server: JSON, pool_id: str) -> JSON:
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


def _dropped_rows(store: Store, server_id: str) -> list[JSON]:
    """Dropped databases of a server still inside their PITR retention."""
    now = store.now()
    rows = []
    for row in store.table(DROPPED).values():
        if row["server_id"].lower() != server_id.lower():
            continue
        days = int(row["database"].get("_meta", {}).get("retention_days", 7))
        if parse_time(row["deleted"]) + timedelta(days=days) >= now:
            rows.append(row)
    return sorted(rows, key=lambda r: r["deleted"])


def _dropped_body(store: Store, row: JSON) -> JSON:
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
            "keys": {},
        },
    }


def geo_backup_time(store: Store) -> datetime:
    """Geo-replicated backups lag about an hour; we use the last 10-minute mark an hour ago."""
    moment = store.now() - GEO_BACKUP_LAG
    return moment.replace(minute=moment.minute - moment.minute % 10, second=0, microsecond=0)


def _geo_recoverable(db: JSON) -> bool:
    redundancy = db["properties"].get("currentBackupStorageRedundancy", "Geo")
    return redundancy in ("Geo", "GeoZone") and db["properties"].get("status") == "Online"


def _live_databases(store: Store, server_id: str) -> list[JSON]:
    return sorted(store.of_type(DB_TYPE, server_id), key=lambda d: d["name"].lower())


# -- LTR backups (derived) ------------------------------------------------------------------------


def _weeks(duration: str) -> int:
    """ISO-8601 retention (P52W, P12M, P1Y, P365D, PT0S) in whole weeks."""
    match = re.fullmatch(
        r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T.*)?", duration or "PT0S"
    )
    if match is None:
        return 0
    years, months, weeks, days = (int(x) if x else 0 for x in match.groups())
    return years * 52 + months * 4 + weeks + days // 7


def _ltr_backups_for(store: Store, server: JSON, db: JSON, deleted: str | None) -> list[JSON]:
    """Weekly LTR backups (Sundays 01:00 UTC) within the database's weekly retention."""
    policy = store.get(f"{db['id']}/backupLongTermRetentionPolicies/default")
    weeks = _weeks(policy["properties"].get("weeklyRetention", "PT0S")) if policy else 0
    if weeks <= 0 or not db["properties"].get("creationDate"):
        return []
    now = store.now()
    end = parse_time(deleted) if deleted else now
    created = parse_time(db["properties"]["creationDate"])
    first = (created + timedelta(days=(6 - created.weekday()) % 7)).replace(
        hour=1, minute=0, second=0, microsecond=0
    )
    if first < created:
        first += timedelta(days=7)
    location = normalise_region(server["location"])
    sub = server["id"].split("/")[2]
    redundancy = db["properties"].get("currentBackupStorageRedundancy", "Geo")
    backups = []
    moment = first
    while moment <= end:
        expires = moment + timedelta(weeks=weeks)
        if expires > now:
            name = f"{db['properties']['databaseId']};{ticks(moment)};Hot"
            backups.append(
                {
                    "id": f"/subscriptions/{sub}/providers/Microsoft.Sql/locations/{location}"
                    f"/longTermRetentionServers/{server['name']}/longTermRetentionDatabases/"
                    f"{db['name']}/longTermRetentionBackups/{name}",
                    "name": name,
                    "type": "Microsoft.Sql/locations/longTermRetentionServers/longTermRetentionDatabases/longTermRetentionBackups",
                    "properties": {
                        "serverName": server["name"],
                        "serverCreateTime": server.get("_meta", {}).get("created"),
                        "databaseName": db["name"],
                        "databaseDeletionTime": deleted,
                        "backupTime": isoformat(moment),
                        "backupExpirationTime": isoformat(expires),
                        "backupStorageRedundancy": redundancy,
                        "requestedBackupStorageRedundancy": redundancy,
                        "isBackupImmutable": False,
                        "backupStorageAccessTier": "Hot",
                    },
                    "_meta": {"database_id": db["id"], "point_in_time": isoformat(moment)},
                }
            )
        moment += timedelta(days=7)
    return backups


def _ltr_candidates(
    store: Store, sub: str, location: str, server_name: str | None, group: str | None
) -> list[tuple[JSON, JSON, str | None]]:
    """(server, database, deletion time) triples an LTR listing covers."""
    found: list[tuple[JSON, JSON, str | None]] = []
    scope = f"/subscriptions/{sub}" + (f"/resourceGroups/{group}" if group else "")
    for server in store.of_type(SERVER_TYPE, scope):
        if normalise_region(server["location"]) != normalise_region(location):
            continue
        if server_name and server["name"].lower() != server_name.lower():
            continue
        for db in _live_databases(store, server["id"]):
            found.append((server, db, None))
        for row in store.table(DROPPED).values():
            if row["server_id"].lower() == server["id"].lower():
                found.append((server, row["database"], row["deleted"]))
    return found


def _ltr_list(
    req: ArmRequest, *, server_name: str | None, database_name: str | None, group: str | None
) -> Response:
    state = (req.arg("databaseState") or "All").lower()
    latest_only = (req.arg("onlyLatestPerDatabase") or "").lower() == "true"
    items: list[JSON] = []
    for server, db, deleted in _ltr_candidates(
        req.store, req.params["subscription"], req.params["location"], server_name, group
    ):
        if database_name and db["name"].lower() != database_name.lower():
            continue
        if (state == "live" and deleted) or (state == "deleted" and not deleted):
            continue
        backups = _ltr_backups_for(req.store, server, db, deleted)
        items.extend(backups[-1:] if latest_only else backups)
    return page(req, items, page_size=500)


def find_ltr_backup(store: Store, backup_id: str) -> tuple[JSON, JSON, JSON] | None:
    """(backup, server, database) for an LTR backup id, or None."""
    parts = split_id(unquote(backup_id))
    needed = (
        "subscriptions",
        "locations",
        "longtermretentionservers",
        "longtermretentiondatabases",
        "longtermretentionbackups",
    )
    if not all(k in parts for k in needed):
        return None
    for server, db, deleted in _ltr_candidates(
        store,
        parts["subscriptions"],
        parts["locations"],
        parts["longtermretentionservers"],
        parts.get("resourcegroups"),
    ):
        if db["name"].lower() != parts["longtermretentiondatabases"].lower():
            continue
        for backup in _ltr_backups_for(store, server, db, deleted):
            if backup["name"].lower() == parts["longtermretentionbackups"].lower():
                return backup, server, db
    return None


# -- servers ---------------------------------------------------------------------------------------


@router.route("GET", SERVER, "servers.get")
def server_get(req: ArmRequest) -> Response:
    return respond(require_server(req, nested=False))


@router.route("GET", SUB + "/providers/Microsoft.Sql/servers", "servers.list")
def servers_list(req: ArmRequest) -> Response:
    items = sorted(
        req.store.of_type(SERVER_TYPE, f"/subscriptions/{req.params['subscription']}"),
        key=lambda s: s["name"],
    )
    return page(req, items)


@router.route("GET", RG + "/providers/Microsoft.Sql/servers", "servers.list_by_resource_group")
def servers_list_by_group(req: ArmRequest) -> Response:
    scope = f"/subscriptions/{req.params['subscription']}/resourceGroups/{req.params['group']}"
    if req.store.get(scope) is None:
        raise ArmError(
            404,
            "ResourceGroupNotFound",
            f"Resource group '{req.params['group']}' could not be found.",
        )
    return page(req, sorted(req.store.of_type(SERVER_TYPE, scope), key=lambda s: s["name"]))


@router.route("PATCH", SERVER, "servers.update")
def server_update(req: ArmRequest) -> Response:
    server = require_server(req, nested=False)
    body = req.json()
    props = body.get("properties", {}) or {}
    tls = props.get("minimalTlsVersion")
    if tls is not None and tls not in ("1.0", "1.1", "1.2", "1.3", "None"):
        raise bad_request(
            "InvalidMinimalTlsVersion",
            f"The minimal TLS version '{tls}' is not valid. Valid values: 1.0, 1.1, 1.2, 1.3, None.",
        )
    for name in ("minimalTlsVersion", "publicNetworkAccess", "restrictOutboundNetworkAccess"):
        if name in props:
            server["properties"][name] = props[name]
    if "tags" in body:
        server["tags"] = body["tags"] or {}
    req.store.put(server)
    return respond(server)


@router.route("GET", SERVER + "/auditingSettings", "server_blob_auditing_policies.list_by_server")
def server_auditing_list(req: ArmRequest) -> Response:
    server = require_server(req)
    return page(req, [_auditing(req.store, server["id"], "Microsoft.Sql/servers/auditingSettings")])


@router.route("GET", SERVER + "/auditingSettings/{policy}", "server_blob_auditing_policies.get")
def server_auditing_get(req: ArmRequest) -> Response:
    server = require_server(req)
    return respond(_auditing(req.store, server["id"], "Microsoft.Sql/servers/auditingSettings"))


@router.route(
    "PUT", SERVER + "/auditingSettings/{policy}", "server_blob_auditing_policies.create_or_update"
)
def server_auditing_put(req: ArmRequest) -> Response:
    server = require_server(req)
    return respond(_auditing_put(req, server["id"], "Microsoft.Sql/servers/auditingSettings"))


def _auditing(store: Store, parent_id: str, resource_type: str) -> JSON:
    existing = store.get(f"{parent_id}/auditingSettings/default")
    if existing is not None:
        return existing
    return {
        "id": f"{parent_id}/auditingSettings/default",
        "name": "default",
        "type": resource_type,
        "properties": {
            "state": "Disabled",
            "retentionDays": 0,
            "auditActionsAndGroups": [],
            "isAzureMonitorTargetEnabled": False,
            "isStorageSecondaryKeyInUse": False,
        },
    }


def _auditing_put(req: ArmRequest, parent_id: str, resource_type: str) -> JSON:
    props = req.json().get("properties") or {}
    state = props.get("state")
    if state not in ("Enabled", "Disabled"):
        raise bad_request(
            "InvalidAuditingState",
            "The auditing state must be 'Enabled' or 'Disabled'.",
            "properties.state",
        )
    if state == "Enabled" and not (
        props.get("isAzureMonitorTargetEnabled") or props.get("storageEndpoint")
    ):
        raise bad_request(
            "DataSecurityInvalidUserSuppliedParameter",
            "Invalid parameter 'storageEndpoint'. Value should be a blob storage endpoint "
            "(e.g. https://MyAccount.blob.core.windows.net) or isAzureMonitorTargetEnabled should be true.",
        )
    body = _auditing(req.store, parent_id, resource_type)
    body["properties"] = {**body["properties"], **props}
    body["properties"].pop("storageAccountAccessKey", None)  # write-only secret
    return req.store.put(body)


# -- databases ---------------------------------------------------------------------------------------


@router.route("GET", DATABASE, "databases.get")
def database_get(req: ArmRequest) -> Response:
    return respond(render_database(req, require_database(req)))


@router.route("GET", SERVER + "/databases", "databases.list_by_server")
def databases_list_by_server(req: ArmRequest) -> Response:
    server = require_server(req)
    items = [master_database(server)] + _live_databases(req.store, server["id"])
    return page(req, [render_database(req, db) for db in items])


@router.route("GET", POOL + "/databases", "databases.list_by_elastic_pool")
def databases_list_by_pool(req: ArmRequest) -> Response:
    server = require_server(req)
    pool = req.store.get(f"{server['id']}/elasticPools/{req.params['pool']}")
    if pool is None:
        raise not_found(POOL_TYPE, req.params["pool"])
    items = [
        db
        for db in _live_databases(req.store, server["id"])
        if str(db["properties"].get("elasticPoolId") or "").lower() == pool["id"].lower()
    ]
    return page(req, [render_database(req, db) for db in items])


@router.route("GET", SERVER + "/inaccessibleDatabases", "databases.list_inaccessible_by_server")
def databases_inaccessible(req: ArmRequest) -> Response:
    server = require_server(req)
    items = [
        db
        for db in _live_databases(req.store, server["id"])
        if db["properties"].get("status") == "Inaccessible"
    ]
    return page(req, [render_database(req, db) for db in items])


def _busy(req: ArmRequest, db_id: str) -> None:
    """Azure refuses a second change while one runs on the same database."""
    for row in lro.running(req.emulator):
        if row["resource_id"].lower() == db_id.lower():
            raise ArmError(
                409,
                "ConflictingDatabaseOperation",
                f"There is already an operation ({row['operation']}) in progress on database "
                f"'{db_id.rsplit('/', 1)[-1]}'. Wait until it has finished and try again.",
            )


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
    if existing is not None or req.params["database"].lower() == "master":
        raise ArmError(
            409,
            "RemoteDatabaseExists",
            f"The destination database name '{req.params['database']}' already exists on the "
            f"destination server '{server['name']}'.",
        )
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
    if mode not in ("Default", *RESTORE_MODES):
        raise bad_request(
            "InvalidDatabaseCreateOrUpdateRequest",
            f"The create mode '{mode}' is not supported by this emulator.",
        )
    source, point_in_time, lineage = (
        _restore_source(req, server, mode, props) if mode != "Default" else (None, None, {})
    )

    pool: JSON | None = None
    if props.get("elasticPoolId"):
        pool = _resolve_pool(req, server, props["elasticPoolId"])
    sku = body.get("sku")
    if pool is not None and sku and sku.get("name") not in ("ElasticPool", None):
        raise bad_request(
            "ElasticPoolSkuCombinationInvalid",
            "Elastic pool and sku can be specified together only if sku is specified as 'ElasticPool'.",
        )
    if mode != "Default":
        _check_restore_limits(req, pool)

    now = req.store.now()
    template = source or {}
    template_props = template.get("properties", {})
    if pool is not None:
        sku = {"name": "ElasticPool", "tier": pool["sku"]["tier"], "capacity": 0}
    elif not sku:
        sku = (
            template.get("sku")
            if template and template_props.get("elasticPoolId") is None
            else None
        )
        sku = sku or {"name": "GP_Gen5", "tier": "GeneralPurpose", "family": "Gen5", "capacity": 2}
    redundancy = (
        props.get("requestedBackupStorageRedundancy")
        or template_props.get("requestedBackupStorageRedundancy")
        or "Geo"
    )
    slo = "ElasticPool" if pool is not None else _slo_name(sku)
    db: JSON = {
        "id": db_id,
        "name": req.params["database"],
        "type": DB_TYPE,
        "location": server["location"],
        "kind": "v12.0,user,pool" if pool is not None else "v12.0,user",
        "tags": body.get("tags") or dict(template.get("tags") or {}),
        "sku": sku,
        "properties": {
            "collation": props.get("collation")
            or template_props.get("collation")
            or "SQL_Latin1_General_CP1_CI_AS",
            "maxSizeBytes": props.get("maxSizeBytes")
            or template_props.get("maxSizeBytes")
            or 34359738368,
            "status": "Creating" if mode == "Default" else "Restoring",
            "databaseId": str(uuid.uuid4()),
            "creationDate": isoformat(now),
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
            "encryptionProtector": props.get(
                "encryptionProtector", template_props.get("encryptionProtector")
            ),
            "encryptionProtectorAutoRotation": bool(
                props.get("encryptionProtectorAutoRotation", False)
            ),
        },
        "_meta": {
            "tenant": (template.get("_meta") or {}).get("tenant"),
            "used_bytes": (template.get("_meta") or {}).get("used_bytes", 0),
            "metrics": (template.get("_meta") or {}).get("metrics"),
            "key_history": list((template.get("_meta") or {}).get("key_history", [])),
            "lineage": lineage or None,
        },
    }
    if body.get("identity") or template.get("identity"):
        db["identity"] = body.get("identity") or template.get("identity")
    if props.get("encryptionProtector"):
        _check_key_usable(req.store, props["encryptionProtector"])
        db["_meta"]["key_history"].append(
            {"kid": props["encryptionProtector"], "from": isoformat(now)}
        )
    req.store.put(db)
    for child in ("backupShortTermRetentionPolicies", "backupLongTermRetentionPolicies"):
        template_child = req.store.get(f"{template['id']}/{child}/default") if template else None
        _default_policy(req.store, db_id, child, template_child)
    labels: JSON = {"restore": mode != "Default", "subscription": req.params["subscription"]}
    if pool is not None:
        labels["pool"] = pool["id"]
    response = lro.start(
        req,
        finalize="sql.database_create",
        resource_id=db_id,
        location=server["location"],
        args={
            "mode": mode,
            "point_in_time": isoformat(point_in_time) if point_in_time else None,
            "source_id": source["id"] if source else None,
        },
        body=render_database(req, db),
        status=201 if mode == "Default" else 202,
        labels=labels,
    )
    if lineage:
        lineage["operation_id"] = _last_operation_id(req, db_id)
    return response


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


def _default_policy(store: Store, db_id: str, child: str, template: JSON | None) -> None:
    props: JSON
    if child == "backupShortTermRetentionPolicies":
        props = {"retentionDays": 7, "diffBackupIntervalInHours": 12}
        resource_type = "Microsoft.Sql/servers/databases/backupShortTermRetentionPolicies"
    else:
        props = {
            "weeklyRetention": "P52W",
            "monthlyRetention": "PT0S",
            "yearlyRetention": "PT0S",
            "weekOfYear": 0,
            "timeBasedImmutability": "Disabled",
        }
        resource_type = "Microsoft.Sql/servers/databases/backupLongTermRetentionPolicies"
    if template is not None:
        props = dict(template["properties"])
    store.put(
        {
            "id": f"{db_id}/{child}/default",
            "name": "default",
            "type": resource_type,
            "properties": props,
        }
    )


def _restore_source(
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
            for candidate in _dropped_rows(store, server_part):
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
        if row not in _dropped_rows(store, row["server_id"]):
            raise bad_request(
                "InvalidDroppedDatabase",
                "Source database dropped does not exist on server within the supported recovery period.",
            )
        dropped = row["database"]
        deleted = parse_time(row["deleted"])
        earliest = parse_time(_dropped_body(store, row)["properties"]["earliestRestoreDate"])
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
        if source is None or not _geo_recoverable(source):
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


def _check_restore_limits(req: ArmRequest, pool: JSON | None) -> None:
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


def _check_key_usable(store: Store, kid: str) -> None:
    version = keyvault_version(store, kid)
    if version is None:
        raise ArmError(
            409,
            "AzureKeyVaultKeyNameNotFound",
            f"The operation could not be completed because the Azure Key Vault Key name '{kid}' does not exist.",
        )
    if not version.get("enabled", True):
        raise ArmError(
            401,
            "AzureKeyVaultKeyDisabled",
            "The operation could not be completed on the server because the Azure Key Vault key is disabled.",
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


def _database_change(req: ArmRequest, db: JSON, body: JSON) -> Response:
    """PATCH (and PUT on an existing database): tags/CMK apply at once; SKU and pool via an LRO."""
    server = require_server(req)
    _busy(req, db["id"])
    props = body.get("properties") or {}
    now = req.store.now()
    if "tags" in body:
        db["tags"] = body["tags"] or {}
    if "encryptionProtector" in props and props["encryptionProtector"] != db["properties"].get(
        "encryptionProtector"
    ):
        if props["encryptionProtector"]:
            _check_key_usable(req.store, props["encryptionProtector"])
            db["_meta"].setdefault("key_history", []).append(
                {"kid": props["encryptionProtector"], "from": isoformat(now)}
            )
        db["properties"]["encryptionProtector"] = props["encryptionProtector"]
    for name in ("encryptionProtectorAutoRotation", "requestedBackupStorageRedundancy"):
        if name in props:
            db["properties"][name] = props[name]
    if "keys" in props:
        for kid in props["keys"] or {}:
            _check_key_usable(req.store, kid)
    if "identity" in body:
        db["identity"] = body["identity"]
    if "requestedBackupStorageRedundancy" in props:
        # Redundancy changes apply to future backups; Azure flips "current" after a while.
        db["properties"]["currentBackupStorageRedundancy"] = props[
            "requestedBackupStorageRedundancy"
        ]
    change: JSON = {}
    sku = body.get("sku")
    if "elasticPoolId" in props:
        pool_id = props["elasticPoolId"]
        if pool_id:
            pool = _resolve_pool(req, server, pool_id)
            if sku and sku.get("name") not in ("ElasticPool", None):
                raise bad_request(
                    "ElasticPoolSkuCombinationInvalid",
                    "Elastic pool and sku can be specified together only if sku is specified as 'ElasticPool'.",
                )
            change["pool"] = pool["id"]
            change["sku"] = {"name": "ElasticPool", "tier": pool["sku"]["tier"], "capacity": 0}
        else:
            if not sku or sku.get("name") in ("ElasticPool", None):
                raise bad_request(
                    "MissingSkuName",
                    "Sku name is required when removing a database from an elastic pool.",
                )
            change["pool"] = None
            change["sku"] = sku
    elif sku:
        if db["properties"].get("elasticPoolId") and sku.get("name") != "ElasticPool":
            raise bad_request(
                "ElasticPoolSkuCombinationInvalid",
                "Elastic pool and sku can be specified together only if sku is specified as 'ElasticPool'.",
            )
        change["sku"] = sku
    if "maxSizeBytes" in props:
        used = int(db.get("_meta", {}).get("used_bytes", 0))
        if int(props["maxSizeBytes"]) < used:
            raise bad_request(
                "CurrentDatabaseSizeExceedsMaxSize",
                "User attempted to reduce the max size for a database to a size smaller than the current usage.",
            )
        change["maxSizeBytes"] = int(props["maxSizeBytes"])
    req.store.put(db)
    if not change:
        return respond(render_database(req, db))
    if "sku" in change:
        db["properties"]["requestedServiceObjectiveName"] = (
            "ElasticPool" if change.get("pool") else _slo_name(change["sku"])
        )
    labels: JSON = {"subscription": req.params["subscription"], "scale": True}
    return lro.start(
        req,
        finalize="sql.database_update",
        resource_id=db["id"],
        location=server["location"],
        args=change,
        body=render_database(req, db),
        status=202,
        labels=labels,
    )


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
    db = req.store.get(f"{server['id']}/databases/{req.params['database']}")
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
    _busy(req, db["id"])
    if db.get("_meta", {}).get("geo_secondary_id") and req.store.get(
        db["_meta"]["geo_secondary_id"]
    ):
        raise bad_request(
            "DatabaseIsGeoPrimary",
            f"Database '{db['name']}' has a geo-replication secondary; remove the replication link first.",
        )
    return lro.start(
        req,
        finalize="sql.database_delete",
        resource_id=db["id"],
        location=server["location"],
        status=202,
    )


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
    db = req.store.get(f"{server['id']}/databases/{req.params['database']}")
    if db is None:
        raise not_found(DB_TYPE, req.params["database"])
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
    if req.store.get(target) is not None or new_name.lower() == "master":
        raise ArmError(
            409,
            "DatabaseAlreadyExists",
            f"Database '{new_name}' already exists. Choose a different database name.",
        )
    if db.get("_meta", {}).get("geo_secondary_id") or db.get("_meta", {}).get("replica_of"):
        raise bad_request(
            "UpdateNotAllowedInCurrentReplicationState",
            f"The operation is disallowed on database '{db['name']}' in its current replication "
            "state: a database in a geo-replication relationship cannot be renamed.",
        )
    _busy(req, db["id"])
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


@router.route(
    "GET", DATABASE + "/transparentDataEncryption/{tde}", "transparent_data_encryptions.get"
)
def tde_get(req: ArmRequest) -> Response:
    db = require_database(req)
    return respond(
        {
            "id": f"{db['id']}/transparentDataEncryption/current",
            "name": "current",
            "type": "Microsoft.Sql/servers/databases/transparentDataEncryption",
            "properties": {"state": "Enabled"},
        }
    )


@router.route(
    "GET", DATABASE + "/auditingSettings", "database_blob_auditing_policies.list_by_database"
)
def database_auditing_list(req: ArmRequest) -> Response:
    db = require_database(req)
    return page(
        req, [_auditing(req.store, db["id"], "Microsoft.Sql/servers/databases/auditingSettings")]
    )


@router.route("GET", DATABASE + "/auditingSettings/{policy}", "database_blob_auditing_policies.get")
def database_auditing_get(req: ArmRequest) -> Response:
    db = require_database(req)
    return respond(
        _auditing(req.store, db["id"], "Microsoft.Sql/servers/databases/auditingSettings")
    )


@router.route(
    "PUT",
    DATABASE + "/auditingSettings/{policy}",
    "database_blob_auditing_policies.create_or_update",
)
def database_auditing_put(req: ArmRequest) -> Response:
    db = require_database(req)
    return respond(_auditing_put(req, db["id"], "Microsoft.Sql/servers/databases/auditingSettings"))


@router.route(
    "POST",
    DATABASE + "/encryptionProtector/{name}/revalidate",
    "database_encryption_protectors.revalidate",
)
def database_protector_revalidate(req: ArmRequest) -> Response:
    db = require_database(req)
    kid = db["properties"].get("encryptionProtector")
    if kid:
        _check_key_usable(req.store, kid)
    return Response(status_code=200)


@router.route(
    "POST", DATABASE + "/encryptionProtector/{name}/revert", "database_encryption_protectors.revert"
)
def database_protector_revert(req: ArmRequest) -> Response:
    db = require_database(req)
    db["properties"]["encryptionProtector"] = None
    req.store.put(db)
    return Response(status_code=200)


# -- restore points, retention policies ------------------------------------------------------------


def _restore_point(req: ArmRequest, db: JSON) -> JSON:
    return {
        "id": f"{db['id']}/restorePoints/ContinuousRestorePoint",
        "name": "ContinuousRestorePoint",
        "location": db["location"],
        "type": "Microsoft.Sql/servers/databases/restorePoints",
        "properties": {
            "restorePointType": "CONTINUOUS",
            "earliestRestoreDate": isoformat(earliest_restore(req.store, db)),
            "restorePointCreationDate": None,
            "restorePointLabel": None,
        },
    }


@router.route("GET", DATABASE + "/restorePoints", "restore_points.list_by_database")
def restore_points_list(req: ArmRequest) -> Response:
    db = require_database(req)
    return page(
        req, [_restore_point(req, db)] if db["properties"].get("status") == "Online" else []
    )


@router.route("GET", DATABASE + "/restorePoints/{name}", "restore_points.get")
def restore_point_get(req: ArmRequest) -> Response:
    db = require_database(req)
    if req.params["name"].lower() != "continuousrestorepoint":
        raise ArmError(
            404,
            "DatabaseRestorePointNotFound",
            f"Restore point '{req.params['name']}' was not found.",
        )
    return respond(_restore_point(req, db))


@router.route(
    "GET",
    DATABASE + "/backupShortTermRetentionPolicies",
    "backup_short_term_retention_policies.list_by_database",
)
def str_list(req: ArmRequest) -> Response:
    db = require_database(req)
    return page(req, [_policy(req, db, "backupShortTermRetentionPolicies")])


@router.route(
    "GET",
    DATABASE + "/backupShortTermRetentionPolicies/{policy}",
    "backup_short_term_retention_policies.get",
)
def str_get(req: ArmRequest) -> Response:
    return respond(_policy(req, require_database(req), "backupShortTermRetentionPolicies"))


@router.route(
    "PUT",
    DATABASE + "/backupShortTermRetentionPolicies/{policy}",
    "backup_short_term_retention_policies.create_or_update",
)
def str_put(req: ArmRequest) -> Response:
    return _str_write(req)


@router.route(
    "PATCH",
    DATABASE + "/backupShortTermRetentionPolicies/{policy}",
    "backup_short_term_retention_policies.update",
)
def str_patch(req: ArmRequest) -> Response:
    return _str_write(req)


def _str_write(req: ArmRequest) -> Response:
    db = require_database(req)
    policy = _policy(req, db, "backupShortTermRetentionPolicies")
    props = req.json().get("properties") or {}
    days = props.get("retentionDays", policy["properties"]["retentionDays"])
    if not isinstance(days, int) or not 1 <= days <= 35:
        raise bad_request(
            "InvalidBackupRetentionPeriod",
            f"The retention days of {days} is not a valid configuration. Valid backup retention in days must be between 1 and 35",
        )
    interval = props.get(
        "diffBackupIntervalInHours", policy["properties"].get("diffBackupIntervalInHours", 12)
    )
    if interval not in (12, 24):
        raise bad_request(
            "InvalidDiffBackupIntervalInHours",
            f"The differential backup interval of {interval} hours is not valid; use 12 or 24.",
        )
    policy["properties"] = {
        **policy["properties"],
        "retentionDays": days,
        "diffBackupIntervalInHours": interval,
    }
    return respond(req.store.put(policy))


def _policy(req: ArmRequest, db: JSON, child: str) -> JSON:
    if req.params.get("policy", "default").lower() != "default":
        raise bad_request("InvalidPolicyName", "The policy name must be 'default'.")
    existing = req.store.get(f"{db['id']}/{child}/default")
    if existing is None:
        _default_policy(req.store, db["id"], child, None)
        existing = req.store.get(f"{db['id']}/{child}/default")
    assert existing is not None  # noqa: S101 - just created
    return existing


@router.route(
    "GET",
    DATABASE + "/backupLongTermRetentionPolicies",
    "long_term_retention_policies.list_by_database",
)
def ltr_policy_list(req: ArmRequest) -> Response:
    return page(req, [_policy(req, require_database(req), "backupLongTermRetentionPolicies")])


@router.route(
    "GET",
    DATABASE + "/backupLongTermRetentionPolicies/{policy}",
    "long_term_retention_policies.get",
)
def ltr_policy_get(req: ArmRequest) -> Response:
    return respond(_policy(req, require_database(req), "backupLongTermRetentionPolicies"))


@router.route(
    "PUT",
    DATABASE + "/backupLongTermRetentionPolicies/{policy}",
    "long_term_retention_policies.create_or_update",
)
def ltr_policy_put(req: ArmRequest) -> Response:
    db = require_database(req)
    policy = _policy(req, db, "backupLongTermRetentionPolicies")
    props = req.json().get("properties") or {}
    for name in ("weeklyRetention", "monthlyRetention", "yearlyRetention"):
        if name in props and not re.fullmatch(r"P(T0S|(\d+[YMWD])+)", str(props[name])):
            raise bad_request(
                "InvalidRetentionPeriod",
                f"The {name} '{props[name]}' is not a valid ISO-8601 duration.",
            )
    policy["properties"] = {**policy["properties"], **props}
    return respond(req.store.put(policy))


# -- LTR backups ------------------------------------------------------------------------------------


@router.route(
    "GET",
    SUB + LTR_DB + "/longTermRetentionBackups",
    "long_term_retention_backups.list_by_database",
)
def ltr_list_by_database(req: ArmRequest) -> Response:
    return _ltr_list(
        req,
        server_name=req.params["ltr_server"],
        database_name=req.params["ltr_database"],
        group=None,
    )


@router.route(
    "GET",
    RG + LTR_DB + "/longTermRetentionBackups",
    "long_term_retention_backups.list_by_resource_group_database",
)
def ltr_list_by_group_database(req: ArmRequest) -> Response:
    return _ltr_list(
        req,
        server_name=req.params["ltr_server"],
        database_name=req.params["ltr_database"],
        group=req.params["group"],
    )


@router.route(
    "GET",
    SUB
    + "/providers/Microsoft.Sql/locations/{location}/longTermRetentionServers/{ltr_server}/longTermRetentionBackups",
    "long_term_retention_backups.list_by_server",
)
def ltr_list_by_server(req: ArmRequest) -> Response:
    return _ltr_list(req, server_name=req.params["ltr_server"], database_name=None, group=None)


@router.route(
    "GET",
    RG
    + "/providers/Microsoft.Sql/locations/{location}/longTermRetentionServers/{ltr_server}/longTermRetentionBackups",
    "long_term_retention_backups.list_by_resource_group_server",
)
def ltr_list_by_group_server(req: ArmRequest) -> Response:
    return _ltr_list(
        req, server_name=req.params["ltr_server"], database_name=None, group=req.params["group"]
    )


@router.route(
    "GET",
    SUB + "/providers/Microsoft.Sql/locations/{location}/longTermRetentionBackups",
    "long_term_retention_backups.list_by_location",
)
def ltr_list_by_location(req: ArmRequest) -> Response:
    return _ltr_list(req, server_name=None, database_name=None, group=None)


@router.route(
    "GET", SUB + LTR_DB + "/longTermRetentionBackups/{backup}", "long_term_retention_backups.get"
)
def ltr_get(req: ArmRequest) -> Response:
    return _ltr_get(req)


@router.route(
    "GET",
    RG + LTR_DB + "/longTermRetentionBackups/{backup}",
    "long_term_retention_backups.get_by_resource_group",
)
def ltr_get_by_group(req: ArmRequest) -> Response:
    return _ltr_get(req)


def _ltr_get(req: ArmRequest) -> Response:
    p = req.params
    backup_id = (
        f"/subscriptions/{p['subscription']}"
        + (f"/resourceGroups/{p['group']}" if "group" in p else "")
        + f"/providers/Microsoft.Sql/locations/{p['location']}/longTermRetentionServers/{p['ltr_server']}"
        f"/longTermRetentionDatabases/{p['ltr_database']}/longTermRetentionBackups/{p['backup']}"
    )
    found = find_ltr_backup(req.store, backup_id)
    if found is None:
        raise ArmError(
            404,
            "ResourceNotFound",
            f"The requested long term retention backup '{p['backup']}' was not found.",
        )
    return respond(found[0])


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
        for db in _live_databases(req.store, server["id"])
        if _geo_recoverable(db)
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
    if db is None or not _geo_recoverable(db):
        raise not_found("Microsoft.Sql/servers/recoverableDatabases", req.params["database"])
    return respond(_recoverable(req.store, server, db))


@router.route(
    "GET", SERVER + "/restorableDroppedDatabases", "restorable_dropped_databases.list_by_server"
)
def dropped_list(req: ArmRequest) -> Response:
    server = require_server(req)
    return page(
        req, [_dropped_body(req.store, row) for row in _dropped_rows(req.store, server["id"])]
    )


@router.route(
    "GET", SERVER + "/restorableDroppedDatabases/{dropped}", "restorable_dropped_databases.get"
)
def dropped_get(req: ArmRequest) -> Response:
    server = require_server(req)
    for row in _dropped_rows(req.store, server["id"]):
        if row["name"].lower() == req.params["dropped"].lower():
            return respond(_dropped_body(req.store, row))
    raise not_found("Microsoft.Sql/servers/restorableDroppedDatabases", req.params["dropped"])


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
    return page(req, sorted(_pools_on(req.store, server["id"]).values(), key=lambda p: p["name"]))


@router.route("PATCH", POOL, "elastic_pools.update")
def pool_update(req: ArmRequest) -> Response:
    server = require_server(req)
    pool = req.store.get(f"{server['id']}/elasticPools/{req.params['pool']}")
    if pool is None:
        raise not_found(POOL_TYPE, req.params["pool"])
    _busy(req, pool["id"])
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
        for d in _live_databases(req.store, server["id"])
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


# -- server keys and the encryption protector -------------------------------------------------------


@router.route("GET", SERVER + "/keys", "server_keys.list_by_server")
def keys_list(req: ArmRequest) -> Response:
    server = require_server(req)
    return page(req, sorted(req.store.of_type(KEY_TYPE, server["id"]), key=lambda k: k["name"]))


@router.route("GET", SERVER + "/keys/{key}", "server_keys.get")
def key_get(req: ArmRequest) -> Response:
    server = require_server(req)
    key = req.store.get(f"{server['id']}/keys/{req.params['key']}")
    if key is None:
        raise not_found(KEY_TYPE, req.params["key"])
    return respond(key)


@router.route("PUT", SERVER + "/keys/{key}", "server_keys.create_or_update")
def key_put(req: ArmRequest) -> Response:
    from azure_emulator.seed import server_key_name

    server = require_server(req)
    props = req.json().get("properties") or {}
    if props.get("serverKeyType") != "AzureKeyVault":
        raise bad_request("InvalidServerKeyType", "Only 'AzureKeyVault' server keys can be added.")
    uri = str(props.get("uri") or "")
    if not uri:
        raise bad_request(
            "SecurityAzureKeyVaultUrlNullOrEmpty",
            "The operation could not be completed because the Azure Key Vault Uri is null or empty.",
        )
    if not re.search(r"^https://[^/]+/keys/[^/]+/[0-9a-fA-F]{32}$", uri):
        raise bad_request(
            "AzureKeyVaultMalformedVaultUri", f"The provided Key Vault uri '{uri}' is not valid."
        )
    if server_key_name(uri).lower() != req.params["key"].lower():
        raise bad_request(
            "SecurityAzureKeyVaultInvalidKeyName",
            f"The operation could not be completed because of an invalid Server Key name. Expected '{server_key_name(uri)}'.",
        )
    _check_key_usable(req.store, uri)
    key_id = f"{server['id']}/keys/{req.params['key']}"
    existing = req.store.get(key_id)
    if existing is not None:
        return respond(existing, 200)
    version = uri.rsplit("/", 1)[-1]
    key = req.store.put(
        {
            "id": key_id,
            "name": req.params["key"],
            "type": KEY_TYPE,
            "kind": "azurekeyvault",
            "location": server["location"],
            "properties": {
                "serverKeyType": "AzureKeyVault",
                "uri": uri,
                "thumbprint": version[:40].upper(),
                "creationDate": isoformat(req.store.now()),
                "autoRotationEnabled": False,
                "keyVersion": version,
                "subregion": normalise_region(server["location"]),
            },
        }
    )
    return respond(key, 201)


@router.route("DELETE", SERVER + "/keys/{key}", "server_keys.delete")
def key_delete(req: ArmRequest) -> Response:
    server = require_server(req)
    key_id = f"{server['id']}/keys/{req.params['key']}"
    key = req.store.get(key_id)
    if key is None:
        return Response(status_code=204)
    protector = req.store.get(f"{server['id']}/encryptionProtector/current")
    if (
        protector
        and protector["properties"].get("serverKeyName", "").lower() == req.params["key"].lower()
    ):
        raise ArmError(
            409, "AzureKeyVaultKeyInUse", "The key is currently being used by the server."
        )
    req.store.delete(key_id)
    return Response(status_code=200)


def _protector(req: ArmRequest, server: JSON) -> JSON:
    if req.params.get("name", "current").lower() != "current":
        raise not_found("Microsoft.Sql/servers/encryptionProtector", req.params["name"])
    protector = req.store.get(f"{server['id']}/encryptionProtector/current")
    if protector is None:
        protector = {
            "id": f"{server['id']}/encryptionProtector/current",
            "name": "current",
            "type": "Microsoft.Sql/servers/encryptionProtector",
            "kind": "servicemanaged",
            "location": server["location"],
            "properties": {
                "serverKeyName": "ServiceManaged",
                "serverKeyType": "ServiceManaged",
                "autoRotationEnabled": False,
            },
        }
    body = dict(protector)
    key_name = protector["properties"].get("serverKeyName")
    key = req.store.get(f"{server['id']}/keys/{key_name}") if key_name else None
    props = dict(protector["properties"])
    if key is not None and props.get("serverKeyType") == "AzureKeyVault":
        props.update(
            {"uri": key["properties"]["uri"], "thumbprint": key["properties"].get("thumbprint")}
        )
    props["subregion"] = normalise_region(server["location"])
    body["properties"] = props
    return body


@router.route("GET", SERVER + "/encryptionProtector", "encryption_protectors.list_by_server")
def protector_list(req: ArmRequest) -> Response:
    server = require_server(req)
    req.params["name"] = "current"
    return page(req, [_protector(req, server)])


@router.route("GET", SERVER + "/encryptionProtector/{name}", "encryption_protectors.get")
def protector_get(req: ArmRequest) -> Response:
    return respond(_protector(req, require_server(req)))


@router.route(
    "PUT", SERVER + "/encryptionProtector/{name}", "encryption_protectors.create_or_update"
)
def protector_put(req: ArmRequest) -> Response:
    server = require_server(req)
    current = _protector(req, server)
    props = req.json().get("properties") or {}
    key_type = props.get("serverKeyType")
    if key_type not in ("ServiceManaged", "AzureKeyVault"):
        raise bad_request(
            "InvalidServerKeyType", "serverKeyType must be 'ServiceManaged' or 'AzureKeyVault'."
        )
    key_name = (
        "ServiceManaged" if key_type == "ServiceManaged" else str(props.get("serverKeyName") or "")
    )
    if key_type == "AzureKeyVault":
        key = req.store.get(f"{server['id']}/keys/{key_name}")
        if key is None:
            raise ArmError(
                409,
                "ServerKeyDoesNotExists",
                f"The server key '{key_name}' does not exist on server '{server['name']}'.",
            )
        _check_key_usable(req.store, key["properties"]["uri"])
    args = {
        "serverKeyName": key_name,
        "serverKeyType": key_type,
        "autoRotationEnabled": bool(props.get("autoRotationEnabled", False)),
    }
    return lro.start(
        req,
        finalize="sql.protector_update",
        resource_id=current["id"],
        location=server["location"],
        args=args,
        body=None,
        status=202,
        status_kind="encryptionProtector",
        labels={"subscription": req.params["subscription"]},
    )


@lro.finalizer("sql.protector_update")
def _protector_updated(emulator: Emulator, op: JSON, succeeded: bool) -> JSON | None:
    store = emulator.store
    server_id = op["resource_id"].rsplit("/encryptionProtector/", 1)[0]
    server = store.get(server_id)
    if server is None:
        return None
    protector = store.get(op["resource_id"]) or {
        "id": op["resource_id"],
        "name": "current",
        "type": "Microsoft.Sql/servers/encryptionProtector",
        "location": server["location"],
        "properties": {},
    }
    if succeeded:
        args = op["args"]
        protector["kind"] = (
            "azurekeyvault" if args["serverKeyType"] == "AzureKeyVault" else "servicemanaged"
        )
        protector["properties"] = dict(args)
        history = server.setdefault("_meta", {}).setdefault("protector_history", [])
        history.append({"serverKeyName": args["serverKeyName"], "from": isoformat(store.now())})
        store.put(server)
        store.put(protector)
    body = dict(protector)
    key = store.get(f"{server_id}/keys/{protector['properties'].get('serverKeyName')}")
    if key is not None and key["properties"].get("uri"):
        body["properties"] = {
            **protector["properties"],
            "uri": key["properties"]["uri"],
            "thumbprint": key["properties"].get("thumbprint"),
        }
    return body


@router.route(
    "POST", SERVER + "/encryptionProtector/{name}/revalidate", "encryption_protectors.revalidate"
)
def protector_revalidate(req: ArmRequest) -> Response:
    server = require_server(req)
    current = _protector(req, server)
    if current["properties"].get("uri"):
        _check_key_usable(req.store, current["properties"]["uri"])
    return Response(status_code=200)
