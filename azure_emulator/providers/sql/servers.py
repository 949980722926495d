"""Logical servers: get, list, update."""

from __future__ import annotations

from starlette.responses import Response

from azure_emulator.arm import ArmRequest, page, respond
from azure_emulator.errors import ArmError, bad_request
from azure_emulator.providers.sql.common import RG, SERVER, SERVER_TYPE, SUB, require_server, router

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
