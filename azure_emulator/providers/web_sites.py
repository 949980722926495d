"""Microsoft.Web: creating, updating and deleting sites (docs/azure-behaviours.md, "App Service
sites: create, update, delete").

``web.py`` serves the sites the seed made; this module lets a client make its own (a standby
site created from the primary's configuration) and remove them. A PUT answers 200 with the
site, as App Service does for a site on an existing plan; the ``siteConfig`` in the body seeds
the site's ``config/web``, ``config/appsettings`` and ``config/connectionstrings`` resources,
so what ``list_application_settings`` returns afterwards is what the PUT sent. Values are
stored as given: a Key Vault reference (``@Microsoft.KeyVault(SecretUri=...)``) stays a
reference, since App Service resolves it only inside the running app.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import Response

from azure_emulator.arm import ArmRequest, Router, normalise_region, respond
from azure_emulator.errors import ArmError, bad_request
from azure_emulator.providers.web import (
    CONFIG_TYPE,
    PLAN_TYPE,
    SITE,
    SITE_TYPE,
    config_resource,
    default_site_config,
    display_location,
    site_id,
    sites_on_plan,
    validated_config,
)
from azure_emulator.providers.web_shapes import site_view
from azure_emulator.state import JSON, Store, isoformat

router = Router()

# Site properties a PUT may set; the rest are computed by App Service.
WRITABLE = (
    "enabled",
    "httpsOnly",
    "clientAffinityEnabled",
    "clientCertEnabled",
    "keyVaultReferenceIdentity",
    "reserved",
)


def _named_elsewhere(store: Store, name: str, resource_id: str) -> bool:
    """Site names are global (they are DNS names under azurewebsites.net)."""
    return any(
        s["name"].lower() == name.lower() and s["id"].lower() != resource_id.lower()
        for s in store.of_type(SITE_TYPE)
    )


def _plan_for(req: ArmRequest, properties: JSON, existing: JSON | None) -> JSON:
    farm = properties.get("serverFarmId") or (existing or {}).get("properties", {}).get(
        "serverFarmId"
    )
    if not farm:
        raise bad_request(
            "BadRequest", "The parameter ServerFarmId has an invalid value.", target="serverFarmId"
        )
    plan = req.store.get(str(farm))
    if plan is None or str(plan.get("type", "")).lower() != PLAN_TYPE.lower():
        raise ArmError(
            404,
            "NotFound",
            f"Server farm with name {str(farm).rstrip('/').rsplit('/', 1)[-1]} not found.",
        )
    return plan


def _settings(raw: Any, what: str) -> list[JSON]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(
        isinstance(e, dict) and isinstance(e.get("name"), str) for e in raw
    ):
        raise bad_request("BadRequest", f"siteConfig.{what} must be a list of name/value pairs.")
    return raw


def _seed_config(store: Store, site: JSON, site_config: JSON) -> None:
    """``siteConfig`` in a PUT sets the site's config resources, as App Service does."""
    app_settings = _settings(site_config.get("appSettings"), "appSettings")
    connection_strings = _settings(site_config.get("connectionStrings"), "connectionStrings")
    web = config_resource(store, site, "web")
    rest = {
        k: v
        for k, v in site_config.items()
        if k not in ("appSettings", "connectionStrings") and v is not None
    }
    web["properties"] = {**web["properties"], **rest}
    if app_settings:
        config_resource(store, site, "appsettings")["properties"] = {
            e["name"]: str(e.get("value") or "") for e in app_settings
        }
    if connection_strings:
        config_resource(store, site, "connectionstrings")["properties"] = {
            e["name"]: {
                "value": str(e.get("connectionString") or ""),
                "type": e.get("type", "Custom"),
            }
            for e in connection_strings
        }


IDENTITY_TYPES = ("None", "SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned")
USER_ASSIGNED_TYPE = "microsoft.managedidentity/userassignedidentities"


def _principal(seed: str) -> str:
    """An identity's principal and client ids are its own: the same identity on two sites has
    the same ids (derived from its resource id, as stable as Entra's are)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, seed))


def _identity(raw: Any, site_resource_id: str) -> JSON | None:
    """The site's managed identity as App Service answers it: the type given, each
    user-assigned identity with its principal and client ids, a system-assigned one with its
    principal and tenant. Malformed requests are refused with nothing stored."""
    if raw is None:
        return None
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind not in IDENTITY_TYPES:
        raise bad_request(
            "BadRequest",
            f"The identity type '{kind}' is not valid. Allowed values: {', '.join(IDENTITY_TYPES)}.",
            target="identity.type",
        )
    user = raw.get("userAssignedIdentities") or {}
    wants_user = "UserAssigned" in kind
    if wants_user != bool(user) or not isinstance(user, dict):
        raise bad_request(
            "BadRequest",
            "userAssignedIdentities must name at least one identity exactly when the identity "
            "type includes UserAssigned.",
            target="identity.userAssignedIdentities",
        )
    for identity_id in user:
        parts = identity_id.strip("/").split("/")
        if len(parts) != 8 or "/".join(parts[5:7]).lower() != USER_ASSIGNED_TYPE:
            raise bad_request(
                "BadRequest",
                f"'{identity_id}' is not a user-assigned identity resource id.",
                target="identity.userAssignedIdentities",
            )
    answer: JSON = {"type": kind}
    if "SystemAssigned" in kind:
        answer["principalId"] = _principal(site_resource_id.lower())
        answer["tenantId"] = _principal("tenant")
    if user:
        answer["userAssignedIdentities"] = {
            i: {"principalId": _principal(i.lower()), "clientId": _principal(f"client:{i.lower()}")}
            for i in user
        }
    return answer


def _new_site(req: ArmRequest, resource_id: str, body: JSON, plan: JSON) -> JSON:
    p = req.params
    name = p["site"]
    host = f"{name}.azurewebsites.net"
    now = isoformat(req.store.now())
    return {
        "id": resource_id,
        "name": name,
        "type": SITE_TYPE,
        "kind": body.get("kind") or "app,linux",
        "location": display_location(str(body["location"])),
        "tags": dict(body.get("tags") or {}),
        "properties": {
            # A new site starts running, as App Service starts it.
            "state": "Running",
            "enabled": True,
            "hostNames": [host],
            "enabledHostNames": [host, f"{name}.scm.azurewebsites.net"],
            "defaultHostName": host,
            "serverFarmId": plan["id"],
            "availabilityState": "Normal",
            "usageState": "Normal",
            "httpsOnly": False,
            "reserved": True,
            "resourceGroup": p["group"],
            "repositorySiteName": name,
            "clientCertEnabled": False,
            "hostNamesDisabled": False,
            "lastModifiedTimeUtc": now,
            "outboundIpAddresses": "20.211.80.1,20.211.80.2",
            "siteConfig": {"numberOfWorkers": 1, "linuxFxVersion": "PYTHON|3.12"},
            "containerSize": 0,
            "dailyMemoryTimeQuota": 0,
            "keyVaultReferenceIdentity": "SystemAssigned",
        },
        "_meta": {"created": now},
    }


@router.route("PUT", SITE, "web_apps.create_or_update")
def site_put(req: ArmRequest) -> Response:
    p = req.params
    body = req.json()
    resource_id = site_id(p["subscription"], p["group"], p["site"])
    existing = req.store.get(resource_id)
    if not body.get("location"):
        raise bad_request(
            "LocationRequired", "The location property is required for this definition."
        )
    properties = body.get("properties") or {}
    if not isinstance(properties, dict):
        raise bad_request("InvalidRequestContent", "'properties' must be an object.")
    if _named_elsewhere(req.store, p["site"], resource_id):
        raise ArmError(409, "Conflict", f"Website with given name {p['site']} already exists.")
    if existing is not None and normalise_region(existing["location"]) != normalise_region(
        body["location"]
    ):
        raise bad_request(
            "BadRequest",
            f"The site {p['site']} already exists in {existing['location']}; its location "
            "cannot be changed.",
            target="location",
        )
    plan = _plan_for(req, properties, existing)
    if normalise_region(plan["location"]) != normalise_region(body["location"]):
        raise bad_request(
            "BadRequest",
            f"The App Service plan {plan['name']} is in {plan['location']}; a site must be in "
            "its plan's region.",
            target="serverFarmId",
        )
    identity = _identity(body.get("identity"), resource_id)
    site_config = properties.get("siteConfig")
    if isinstance(site_config, dict):
        validated_config(
            existing or {"properties": {"serverFarmId": plan["id"]}},
            req.store,
            {k: v for k, v in site_config.items() if k not in ("appSettings", "connectionStrings")},
        )
    site = existing if existing is not None else _new_site(req, resource_id, body, plan)
    if identity is not None:
        site["identity"] = identity
    if existing is None:
        req.store.put(site)
        config_resource(req.store, site, "web")["properties"] = default_site_config(site["name"])
    else:
        site["tags"] = dict(body.get("tags") or {})
        site["properties"]["serverFarmId"] = plan["id"]
        site["properties"]["lastModifiedTimeUtc"] = isoformat(req.store.now())
    for name in WRITABLE:
        if name in properties:
            site["properties"][name] = properties[name]
    if isinstance(site_config, dict):
        _seed_config(req.store, site, site_config)
    req.store.touch()
    tier = plan["sku"].get("tier")
    return respond(site_view(site, tier), 200)


@router.route("DELETE", SITE, "web_apps.delete")
def site_delete(req: ArmRequest) -> Response:
    p = req.params
    site = req.resource(site_id(p["subscription"], p["group"], p["site"]), SITE_TYPE, p["site"])
    for child in req.store.children(site["id"], CONFIG_TYPE):
        req.store.delete(child["id"])
    req.store.delete(site["id"])
    farm = str(site["properties"].get("serverFarmId", ""))
    empty_plan_goes = (req.arg("deleteEmptyServerFarm") or "").lower() == "true"
    if empty_plan_goes and farm and not sites_on_plan(req.store, farm):
        req.store.delete(farm)
    return respond(None, 200)
