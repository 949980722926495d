"""Blob auditing settings of servers and databases."""

from __future__ import annotations

from starlette.responses import Response

from azure_emulator.arm import ArmRequest, page, respond
from azure_emulator.errors import bad_request
from azure_emulator.providers.sql.common import (
    DATABASE,
    SERVER,
    require_database,
    require_server,
    router,
)
from azure_emulator.state import JSON, Store


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
