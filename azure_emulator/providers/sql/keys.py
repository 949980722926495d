"""Customer-managed keys: server keys, the server and database encryption protectors, TDE state."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from starlette.responses import Response

from azure_emulator import lro
from azure_emulator.arm import ArmRequest, normalise_region, page, respond
from azure_emulator.errors import ArmError, bad_request, not_found
from azure_emulator.providers.sql.common import (
    DATABASE,
    KEY_TYPE,
    PROTECTOR_UPDATE,
    SERVER,
    SERVER_KEY_CREATE,
    SERVER_KEY_DELETE,
    keyvault_version,
    live_databases,
    require_child,
    require_database,
    require_server,
    router,
    start_write,
)
from azure_emulator.providers.sql.key_access import revalidated
from azure_emulator.seed.servers import service_managed_protector
from azure_emulator.state import JSON, Store, isoformat

if TYPE_CHECKING:
    from azure_emulator.runtime import Emulator


def check_key_usable(store: Store, kid: str) -> None:
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
    # The server's (or database's) identity wraps and unwraps the database encryption key with
    # it: a key whose permitted operations lack either cannot protect TDE.
    missing = [op for op in ("wrapKey", "unwrapKey") if op not in version.get("key_ops", [])]
    if missing:
        raise ArmError(
            400,
            "AzureKeyVaultMissingPermissions",
            "The server requires the following Azure Key Vault permissions on the key: "
            f"'Get, WrapKey, UnwrapKey'; the key does not permit {', '.join(missing)}.",
        )


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
    "POST",
    DATABASE + "/encryptionProtector/{name}/revalidate",
    "database_encryption_protectors.revalidate",
)
def database_protector_revalidate(req: ArmRequest) -> Response:
    db = require_database(req)
    kid = db["properties"].get("encryptionProtector")
    if kid:
        check_key_usable(req.store, kid)
        revalidated(req.store, db)
    return Response(status_code=200)


@router.route(
    "POST", DATABASE + "/encryptionProtector/{name}/revert", "database_encryption_protectors.revert"
)
def database_protector_revert(req: ArmRequest) -> Response:
    db = require_database(req)
    db["properties"]["encryptionProtector"] = None
    req.store.put(db)
    return Response(status_code=200)


# -- server keys and the encryption protector -------------------------------------------------------


@router.route("GET", SERVER + "/keys", "server_keys.list_by_server")
def keys_list(req: ArmRequest) -> Response:
    server = require_server(req)
    return page(req, sorted(req.store.of_type(KEY_TYPE, server["id"]), key=lambda k: k["name"]))


@router.route("GET", SERVER + "/keys/{key}", "server_keys.get")
def key_get(req: ArmRequest) -> Response:
    return respond(require_child(req, require_server(req), "keys", "key", KEY_TYPE))


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
    check_key_usable(req.store, uri)
    key_id = f"{server['id']}/keys/{req.params['key']}"
    existing = req.store.get(key_id)
    if existing is not None:
        return respond(existing, 200)
    version = uri.rsplit("/", 1)[-1]
    req.store.put(
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
    # Long-running in Azure (202 with Azure-AsyncOperation and Location).
    return start_write(req, server, SERVER_KEY_CREATE, key_id)


@lro.finalizer("sql.server_key_create")
def _server_key_created(emulator: Emulator, op: JSON, succeeded: bool) -> JSON | None:
    key = emulator.store.get(op["resource_id"])
    if not succeeded and key is not None:
        emulator.store.delete(op["resource_id"])
        return None
    return key


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
    # Completed by common.deleted_when_succeeded.
    return start_write(req, server, SERVER_KEY_DELETE, key_id)


def _protector(req: ArmRequest, server: JSON) -> JSON:
    if req.params.get("name", "current").lower() != "current":
        raise not_found("Microsoft.Sql/servers/encryptionProtector", req.params["name"])
    protector = req.store.get(
        f"{server['id']}/encryptionProtector/current"
    ) or service_managed_protector(server)
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
        check_key_usable(req.store, key["properties"]["uri"])
    args = {
        "serverKeyName": key_name,
        "serverKeyType": key_type,
        "autoRotationEnabled": bool(props.get("autoRotationEnabled", False)),
    }
    return start_write(
        req,
        server,
        PROTECTOR_UPDATE,
        current["id"],
        args=args,
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
        check_key_usable(req.store, current["properties"]["uri"])
        # Databases protected by the server's key (no key of their own) come back with it.
        for db in live_databases(req.store, server["id"]):
            if not db["properties"].get("encryptionProtector"):
                revalidated(req.store, db)
    return Response(status_code=200)
