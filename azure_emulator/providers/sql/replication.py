"""Active geo-replication: geo-secondaries (``createMode: Secondary``), replication links, and
planned and forced failover.

Azure behaviours modelled here (sources in ``docs/azure-behaviours.md``, "Active
geo-replication"): a geo-secondary has its primary's name and lives on another server (any
region); it is created by a PUT of the database on the secondary's server, whose LRO runs while
the secondary is seeded; both databases then list one replication link (the same link name on
each side) saying which side is Primary. A planned failover, issued on the secondary, needs both
sides reachable and the link caught up, and loses no data; a forced failover
(``forceFailoverAllowDataLoss``) works while the primary's region is down, and the old primary
rejoins as the secondary.

A pair is stored as two pointers: ``_meta.geo_secondary_id`` on the primary and
``_meta.replica_of`` on the secondary (the seed writes the same). A link exists only while both
databases exist and point at each other, so a secondary whose create failed or that was deleted
leaves no link behind. The emulator models one geo-secondary per primary (Azure allows four).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from starlette.responses import Response

from azure_emulator import lro
from azure_emulator.arm import ArmRequest, page, respond
from azure_emulator.errors import ArmError, bad_request, not_found
from azure_emulator.providers.sql.common import (
    DATABASE,
    DB_TYPE,
    KEY_TYPE,
    SERVER,
    Write,
    busy,
    live_databases,
    require_database,
    require_server,
    router,
    start_write,
)
from azure_emulator.state import JSON, Store, isoformat, parse_time

if TYPE_CHECKING:
    from azure_emulator.runtime import Emulator

LINK_TYPE = "Microsoft.Sql/servers/databases/replicationLinks"
LINK = DATABASE + "/replicationLinks/{link}"
PLANNED_FAILOVER = Write("sql.replication_failover", "FailoverReplicationLink")
FORCED_FAILOVER = Write("sql.replication_failover", "ForceFailoverAllowDataLoss")


# -- the pair ----------------------------------------------------------------------------------------


def partner_of(store: Store, db: JSON) -> tuple[JSON, str] | None:
    """(partner database, this database's role) when ``db`` is one side of a live link."""
    meta = db.get("_meta") or {}
    for key, role, back in (
        ("geo_secondary_id", "Primary", "replica_of"),
        ("replica_of", "Secondary", "geo_secondary_id"),
    ):
        partner = store.get(meta[key]) if meta.get(key) else None
        if partner is not None and str((partner.get("_meta") or {}).get(back) or "").lower() == (
            db["id"].lower()
        ):
            return partner, role
    return None


def link_name(db: JSON, partner: JSON) -> str:
    """The link's name, a GUID (Azure refuses any other): the same on both sides and through
    failovers, new for a new secondary (each database's ``databaseId`` is new)."""
    ids = sorted(str(d["properties"].get("databaseId") or d["id"]).lower() for d in (db, partner))
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "replication-link:" + "|".join(ids)))


def _server_name(db: JSON) -> str:
    return str(db["id"].split("/databases/")[0].rsplit("/", 1)[-1])


def _seeding_progress(emulator: Emulator, secondary: JSON) -> int | None:
    """Percent seeded while the secondary's create LRO runs; None once it has ended."""
    for row in lro.running(emulator):
        if (
            row["resource_id"].lower() == secondary["id"].lower()
            and row["finalize"] == "sql.database_create"
        ):
            started, due = parse_time(row["started"]), parse_time(row["due"])
            total = max(1.0, (due - started).total_seconds())
            done = (emulator.store.now() - started).total_seconds()
            return max(0, min(99, int(100 * done / total)))
    return None


def link_state(emulator: Emulator, db: JSON, partner: JSON, role: str) -> tuple[str, int]:
    """(replicationState, percentComplete): SEEDING while the secondary is created, SUSPENDED
    while either side's region is down, else CATCH_UP."""
    secondary = partner if role == "Primary" else db
    seeded = _seeding_progress(emulator, secondary)
    if seeded is not None:
        return "SEEDING", seeded
    if any(emulator.faults.region_down(str(d.get("location") or "")) for d in (db, partner)):
        return "SUSPENDED", 100
    return "CATCH_UP", 100


def render_link(emulator: Emulator, db: JSON, partner: JSON, role: str) -> JSON:
    state, percent = link_state(emulator, db, partner, role)
    name = link_name(db, partner)
    started = max(
        parse_time(d["properties"]["creationDate"])
        for d in (db, partner)
        if d["properties"].get("creationDate")
    )
    return {
        "id": f"{db['id']}/replicationLinks/{name}",
        "name": name,
        "type": LINK_TYPE,
        "properties": {
            "partnerServer": _server_name(partner),
            "partnerDatabase": partner["name"],
            "partnerDatabaseId": partner["id"],
            "partnerLocation": partner.get("location"),
            "role": role,
            "partnerRole": "Secondary" if role == "Primary" else "Primary",
            "replicationMode": "ASYNC",
            "startTime": isoformat(started),
            "percentComplete": percent,
            "replicationState": state,
            "isTerminationAllowed": state != "SEEDING",
            "linkType": "GEO",
        },
    }


def _links_of(req: ArmRequest, db: JSON) -> list[JSON]:
    found = partner_of(req.store, db)
    return [render_link(req.emulator, db, *found)] if found else []


# -- creating a geo-secondary ------------------------------------------------------------------------


def region_unreachable(emulator: Emulator, db: JSON) -> ArmError | None:
    """The error a call into ``db``'s region gets during an emulated outage (as the runtime's)."""
    location = str(db.get("location") or "")
    if not emulator.faults.region_down(location):
        return None
    return ArmError(
        503,
        "ServiceUnavailable",
        f"The service is temporarily unavailable in region '{location}'. Please try again later.",
        retry_after=1,
    )


def secondary_source(req: ArmRequest, server: JSON, props: JSON) -> JSON:
    """Check a ``createMode: Secondary`` request; returns the primary it replicates.

    Every refusal comes before anything is stored.
    """
    source_id = str(props.get("sourceDatabaseId") or "")
    if not source_id:
        raise bad_request("MissingSourceDatabaseId", "Missing source database identifier.")
    source = req.store.get(source_id)
    if source is None or source.get("type") != DB_TYPE:
        raise bad_request("SourceDatabaseNotFound", "The source database does not exist.")
    unreachable = region_unreachable(req.emulator, source)
    if unreachable is not None:
        raise unreachable
    if source["name"].lower() != req.params["database"].lower():
        raise bad_request(
            "InvalidGeoReplicationDatabaseName",
            f"A geo-secondary has the name of its primary: create it as '{source['name']}', "
            f"not '{req.params['database']}'.",
        )
    if source_id.lower().split("/databases/")[0] == server["id"].lower():
        raise bad_request(
            "GeoReplicationSecondaryOnSameServer",
            "A geo-secondary cannot be created on the server of its primary database.",
        )
    if source["properties"].get("status") != "Online":
        raise bad_request("SourceDatabaseNotFound", "The source database is not online.")
    _check_not_replicated(req.store, source)
    _check_key_material(req, server, source, props)
    return source


def _check_not_replicated(store: Store, source: JSON) -> None:
    found = partner_of(store, source)
    if found is None:
        return
    partner, role = found
    if role == "Secondary":
        raise bad_request(
            "GeoReplicationDatabaseNotPrimary",
            f"Database '{source['name']}' is a geo-secondary; create secondaries of its primary "
            f"on server '{_server_name(partner)}'.",
        )
    raise ArmError(
        409,
        "GeoReplicationSecondaryExists",
        f"Database '{source['name']}' already has a geo-secondary on server "
        f"'{_server_name(partner)}' (this emulator models one per primary).",
    )


def _check_key_material(req: ArmRequest, server: JSON, source: JSON, props: JSON) -> None:
    """A primary with a database-level key: the secondary must hold its protector's key
    material, named in the request's keys (or protector) or held by the target server."""
    protector = source["properties"].get("encryptionProtector")
    if not protector:
        return
    given = {str(k).lower() for k in props.get("keys") or {}}
    if props.get("encryptionProtector"):
        given.add(str(props["encryptionProtector"]).lower())
    given |= {
        str(k["properties"].get("uri", "")).lower()
        for k in req.store.of_type(KEY_TYPE, server["id"])
    }
    if str(protector).lower() not in given:
        raise bad_request(
            "SameKeyMaterialNotFoundOnRemoteServer",
            "All databases linked by geo-replication should have the same key material as the "
            f"encryption protector of the primary database. Add the key '{protector}' to the "
            "keys of the secondary (or to its server) and try again.",
        )


def mark_secondary(store: Store, primary: JSON, secondary: JSON) -> None:
    """Link a new secondary to its primary (both pointers; the secondary reports itself Geo)."""
    secondary["properties"]["secondaryType"] = "Geo"
    secondary["_meta"]["replica_of"] = primary["id"]
    primary.setdefault("_meta", {})["geo_secondary_id"] = secondary["id"]
    store.put(primary)


def forget_partner(store: Store, db: JSON) -> None:
    """A database of a pair is gone (deleted, or its create failed): the other side stops
    pointing at it, so the link disappears from both."""
    meta = db.get("_meta") or {}
    for key, back in (("geo_secondary_id", "replica_of"), ("replica_of", "geo_secondary_id")):
        partner = store.get(meta[key]) if meta.get(key) else None
        if partner is None:
            continue
        partner_meta = partner.setdefault("_meta", {})
        if str(partner_meta.get(back) or "").lower() == db["id"].lower():
            partner_meta.pop(back, None)
            if back == "replica_of":
                partner["properties"].pop("secondaryType", None)
            store.put(partner)


# -- links -------------------------------------------------------------------------------------------


@router.route("GET", DATABASE + "/replicationLinks", "replication_links.list_by_database")
def links_list_by_database(req: ArmRequest) -> Response:
    return page(req, _links_of(req, require_database(req)))


@router.route("GET", LINK, "replication_links.get")
def link_get(req: ArmRequest) -> Response:
    return respond(_require_link(req, require_database(req))[0])


@router.route("GET", SERVER + "/replicationLinks", "replication_links.list_by_server")
def links_list_by_server(req: ArmRequest) -> Response:
    server = require_server(req)
    items = [link for db in live_databases(req.store, server["id"]) for link in _links_of(req, db)]
    return page(req, items)


def _require_link(req: ArmRequest, db: JSON) -> tuple[JSON, JSON, str]:
    """(rendered link, partner, role) for the link the URL names."""
    found = partner_of(req.store, db)
    if found is not None and link_name(db, found[0]).lower() == req.params["link"].lower():
        return render_link(req.emulator, db, *found), found[0], found[1]
    try:
        uuid.UUID(req.params["link"])
    except ValueError:
        raise bad_request(
            "ReplicationLinksReplicationLinkNameIsInvalid",
            "Replication link name should be a valid guid.",
        ) from None
    raise not_found(LINK_TYPE, req.params["link"])


# -- failover ----------------------------------------------------------------------------------------


@router.route("POST", LINK + "/failover", "replication_links.failover")
def link_failover(req: ArmRequest) -> Response:
    return _failover(req, forced=False)


@router.route(
    "POST", LINK + "/forceFailoverAllowDataLoss", "replication_links.failover_allow_data_loss"
)
def link_failover_allow_data_loss(req: ArmRequest) -> Response:
    return _failover(req, forced=True)


def _failover(req: ArmRequest, *, forced: bool) -> Response:
    """Both failovers are issued on the secondary and run as an LRO whose result is the link as
    the (new) primary sees it. Refusals come before anything changes."""
    server = require_server(req)
    db = require_database(req)
    link, partner, role = _require_link(req, db)
    if role != "Secondary":
        raise bad_request(
            "GeoReplicationDatabaseNotSecondary",
            "The operation expects the database to be a replication target: issue the failover "
            f"on the secondary '{partner['name']}' on server '{_server_name(partner)}'.",
        )
    state = link["properties"]["replicationState"]
    if state == "SEEDING":
        raise bad_request(
            "IncorrectReplicationLinkState",
            "The secondary is still being seeded; fail over once the link has caught up.",
        )
    if not forced and region_unreachable(req.emulator, partner) is not None:
        raise bad_request(
            "PlannedFailoverTimedOut",
            f"The planned failover timed out contacting the primary on server "
            f"'{_server_name(partner)}', whose region is unavailable; a forced failover "
            "(allowing data loss) does not need it.",
        )
    busy(req, db["id"])
    busy(req, partner["id"])
    return start_write(
        req,
        server,
        FORCED_FAILOVER if forced else PLANNED_FAILOVER,
        db["id"],
        args={"partner_id": partner["id"], "forced": forced},
        labels={"failover": True},
    )


@lro.finalizer("sql.replication_failover")
def _failed_over(emulator: Emulator, op: JSON, succeeded: bool) -> JSON | None:
    """Swap the roles: the secondary the failover was issued on becomes the primary."""
    store = emulator.store
    new_primary = store.get(op["resource_id"])
    new_secondary = store.get(op["args"]["partner_id"])
    if not succeeded or new_primary is None or new_secondary is None:
        return None
    found = partner_of(store, new_primary)
    if found is None or found[1] != "Secondary":
        raise ArmError(
            400,
            "IncorrectReplicationLinkState",
            "The replication link changed while the failover ran.",
        )
    now = isoformat(store.now())
    new_primary["_meta"].pop("replica_of", None)
    new_primary["_meta"]["geo_secondary_id"] = new_secondary["id"]
    new_primary["properties"].pop("secondaryType", None)
    new_primary["_meta"].setdefault("failovers", []).append(
        {"at": now, "forced": bool(op["args"].get("forced")), "from": new_secondary["id"]}
    )
    new_secondary["_meta"].pop("geo_secondary_id", None)
    new_secondary["_meta"]["replica_of"] = new_primary["id"]
    new_secondary["properties"]["secondaryType"] = "Geo"
    store.put(new_primary)
    store.put(new_secondary)
    return render_link(emulator, new_primary, new_secondary, "Primary")
