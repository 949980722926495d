"""Backups and retention: restore points, short- and long-term retention policies, LTR backups."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import unquote

from starlette.responses import Response

from azure_emulator.arm import ArmRequest, normalise_region, page, respond, split_id
from azure_emulator.errors import ArmError, bad_request
from azure_emulator.providers.sql.common import (
    DATABASE,
    DROPPED,
    LTR_DB,
    RG,
    SERVER_TYPE,
    SUB,
    earliest_restore,
    live_databases,
    require_database,
    router,
    ticks,
)
from azure_emulator.state import JSON, Store, isoformat, parse_time

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
        for db in live_databases(store, server["id"]):
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


def default_policy(store: Store, db_id: str, child: str, template: JSON | None) -> None:
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
        default_policy(req.store, db["id"], child, None)
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
