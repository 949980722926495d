"""Microsoft.Sql (azure-mgmt-sql 4.0.0, api-version 2025-01-01): see AZURE_FACTS §1-4."""

from __future__ import annotations

from datetime import datetime

from starlette.responses import Response

from azure_emulator.arm import ArmRequest, Router, page, respond
from azure_emulator.state import JSON, Store, isoformat

router = Router()

SUB = "/subscriptions/{subscription}"
RG = SUB + "/resourceGroups/{group}"
SERVER = RG + "/providers/Microsoft.Sql/servers/{server}"
DROPPED = "dropped_databases"


def record_dropped(store: Store, body: JSON, deleted: datetime) -> JSON:
    """Keep a deleted database restorable: row keyed ``<server id>/<name>,<ticks>`` (lower-case)."""
    ticks = int((deleted.timestamp() + 62135596800) * 10_000_000)
    server_id = body["id"].rsplit("/databases/", 1)[0]
    name = f"{body['name']},{ticks}"
    row = {"server_id": server_id, "name": name, "deleted": isoformat(deleted), "database": body}
    store.table(DROPPED)[f"{server_id}/{name}".lower()] = row
    store.touch()
    return row


@router.route("GET", SERVER, "servers.get")
def server_get(req: ArmRequest) -> Response:
    server_id = f"/subscriptions/{req.params['subscription']}/resourceGroups/{req.params['group']}/providers/Microsoft.Sql/servers/{req.params['server']}"
    return respond(req.resource(server_id, "Microsoft.Sql/servers"))


@router.route("GET", SERVER + "/databases", "databases.list_by_server")
def databases_list(req: ArmRequest) -> Response:
    server_id = f"/subscriptions/{req.params['subscription']}/resourceGroups/{req.params['group']}/providers/Microsoft.Sql/servers/{req.params['server']}"
    req.resource(server_id, "Microsoft.Sql/servers")
    return page(req, list(req.store.of_type("Microsoft.Sql/servers/databases", server_id)))
