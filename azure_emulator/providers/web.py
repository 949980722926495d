"""Microsoft.Web: sites, site config, app settings, connection strings and App Service plans.

Shapes follow azure-mgmt-web 11.0.1 (api-version 2025-05-01, docs/azure-behaviours.md §5). The core seed
creates plans ``asp-<slug>``, sites ``app-<slug>`` and each site's ``config/web``,
``config/appsettings`` and ``config/connectionstrings`` as separate stored resources; this module
serves and changes them. A site also records when it was stopped or unhealthy in
``_meta.windows`` so that metrics and Resource Health can tell what it looked like at any past
instant, not only now.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from azure_emulator import lro
from azure_emulator.arm import ArmRequest, Router, normalise_region, page, respond
from azure_emulator.errors import ArmError, bad_request
from azure_emulator.providers.web_shapes import config_view, plan_fields, site_view
from azure_emulator.state import JSON, Store, isoformat

if TYPE_CHECKING:
    from azure_emulator.runtime import Emulator

SUB = "/subscriptions/{subscription}"
BASE = SUB + "/resourceGroups/{group}/providers/Microsoft.Web"
SITE = BASE + "/sites/{site}"
PLAN = BASE + "/serverfarms/{plan}"

SITE_TYPE = "Microsoft.Web/sites"
PLAN_TYPE = "Microsoft.Web/serverfarms"
CONFIG_TYPE = "Microsoft.Web/sites/config"

TLS_VERSIONS = ("1.0", "1.1", "1.2", "1.3")
# App Service pages with ``$skipToken`` (not ARM's usual ``$skiptoken``); a paging cursor.
SKIP_TOKEN = "$skipToken"  # noqa: S105
CONNECTION_STRING_TYPES = (
    "MySql",
    "SQLServer",
    "SQLAzure",
    "Custom",
    "NotificationHub",
    "ServiceBus",
    "EventHub",
    "ApiHub",
    "DocDb",
    "RedisCache",
    "PostgreSQL",
)

# name -> (tier, family, maximum workers). Worker maxima are App Service's documented scale-out
# limits per tier; the emulator refuses a capacity above them as App Service does.
PLAN_SKUS: dict[str, tuple[str, str, int]] = {
    "F1": ("Free", "F", 1),
    "B1": ("Basic", "B", 3),
    "B2": ("Basic", "B", 3),
    "B3": ("Basic", "B", 3),
    "S1": ("Standard", "S", 10),
    "S2": ("Standard", "S", 10),
    "S3": ("Standard", "S", 10),
    "P1v2": ("PremiumV2", "Pv2", 30),
    "P2v2": ("PremiumV2", "Pv2", 30),
    "P3v2": ("PremiumV2", "Pv2", 30),
    "P0v3": ("PremiumV3", "Pv3", 30),
    "P1v3": ("PremiumV3", "Pv3", 30),
    "P2v3": ("PremiumV3", "Pv3", 30),
    "P3v3": ("PremiumV3", "Pv3", 30),
    "P1mv3": ("PremiumMV3", "Pmv3", 30),
    "P2mv3": ("PremiumMV3", "Pmv3", 30),
}

# Writable plan properties a PATCH or PUT may change; the rest are computed or read-only.
PLAN_WRITABLE = (
    "perSiteScaling",
    "elasticScaleEnabled",
    "maximumElasticWorkerCount",
    "isSpot",
    "zoneRedundant",
    "targetWorkerCount",
    "targetWorkerSizeId",
)


def site_id(subscription: str, group: str, name: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{SITE_TYPE}/{name}"


def plan_id(subscription: str, group: str, name: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{PLAN_TYPE}/{name}"


def display_location(location: str) -> str:
    """App Service answers with display names ("Australia East"), not ARM's short form."""
    known = {
        "australiaeast": "Australia East",
        "australiasoutheast": "Australia Southeast",
        "australiacentral": "Australia Central",
    }
    return known.get(normalise_region(location), location)


def default_site_config(name: str) -> JSON:
    """A Linux Python app's config as App Service reports it after creation."""
    return {
        "numberOfWorkers": 1,
        "defaultDocuments": ["index.html", "hostingstart.html"],
        "netFrameworkVersion": "v4.0",
        "linuxFxVersion": "PYTHON|3.12",
        "requestTracingEnabled": False,
        "remoteDebuggingEnabled": False,
        "httpLoggingEnabled": True,
        "acrUseManagedIdentityCreds": False,
        "logsDirectorySizeLimit": 35,
        "detailedErrorLoggingEnabled": False,
        "publishingUsername": f"${name}",
        "scmType": "None",
        "use32BitWorkerProcess": False,
        "webSocketsEnabled": False,
        "alwaysOn": True,
        "appCommandLine": "gunicorn --bind=0.0.0.0 --timeout 600 app:app",
        "managedPipelineMode": "Integrated",
        "loadBalancing": "LeastRequests",
        "autoHealEnabled": False,
        "vnetRouteAllEnabled": False,
        "vnetPrivatePortsCount": 0,
        "localMySqlEnabled": False,
        "ipSecurityRestrictions": [
            {
                "ipAddress": "Any",
                "action": "Allow",
                "priority": 2147483647,
                "name": "Allow all",
                "description": "Allow all access",
            }
        ],
        "scmIpSecurityRestrictionsUseMain": False,
        "http20Enabled": True,
        "minTlsVersion": "1.2",
        "minTlsCipherSuite": None,
        "scmMinTlsVersion": "1.2",
        "ftpsState": "FtpsOnly",
        "preWarmedInstanceCount": 0,
        "functionsRuntimeScaleMonitoringEnabled": False,
        "healthCheckPath": "/healthz",
        "minimumElasticInstanceCount": 0,
        "publicNetworkAccess": "Enabled",
        "azureStorageAccounts": {},
    }


def new_plan(
    *,
    subscription: str,
    group: str,
    name: str,
    location: str,
    sku: str,
    capacity: int,
    tags: dict[str, str] | None = None,
) -> JSON:
    maximum = PLAN_SKUS[sku][2]
    return {
        "id": plan_id(subscription, group, name),
        "name": name,
        "type": PLAN_TYPE,
        "kind": "linux",
        "location": display_location(location),
        "tags": dict(tags or {}),
        "sku": _sku(sku, capacity),
        "properties": {
            "name": name,
            "status": "Ready",
            "subscription": subscription,
            "maximumNumberOfWorkers": maximum,
            "numberOfWorkers": capacity,
            "geoRegion": display_location(location),
            "perSiteScaling": False,
            "elasticScaleEnabled": False,
            "maximumElasticWorkerCount": 1,
            "numberOfSites": 0,
            "isSpot": False,
            "reserved": True,
            "isXenon": False,
            "hyperV": False,
            "targetWorkerCount": 0,
            "targetWorkerSizeId": 0,
            "provisioningState": "Succeeded",
            "zoneRedundant": False,
            "resourceGroup": group,
            "kind": "linux",
        },
        "_meta": {},
    }


def _sku(name: str, capacity: int) -> JSON:
    tier, family, _ = PLAN_SKUS[name]
    return {"name": name, "tier": tier, "size": name, "family": family, "capacity": capacity}


# -- conditions over time (read by monitor.py and health.py) ------------------------------------
# ``_meta.health`` (seeded by the core for unhealthy apps) says the app is failing now;
# ``_meta.windows`` records every stopped/unhealthy spell with its start and end so that metrics
# and Resource Health history can show the past, not only the present.


def open_window(site: JSON, condition: str, at: str) -> None:
    """Start a stopped/unhealthy spell unless one of that kind is already open."""
    windows: list[JSON] = site.setdefault("_meta", {}).setdefault("windows", [])
    if any(w["condition"] == condition and w["end"] is None for w in windows):
        return
    windows.append({"condition": condition, "start": at, "end": None})
    # Only the metric retention window matters; keep the list short.
    del windows[:-50]


def close_window(site: JSON, condition: str, at: str) -> None:
    meta = site.setdefault("_meta", {})
    implied = implied_windows(site)
    windows: list[JSON] = meta.setdefault("windows", [])
    # A seeded spell has no explicit window yet: record it before closing it.
    for window in implied:
        if window["condition"] == condition and not any(
            w["condition"] == condition and w["end"] is None for w in windows
        ):
            windows.append(dict(window))
    for window in windows:
        if window["condition"] == condition and window["end"] is None:
            window["end"] = at


def implied_windows(site: JSON) -> list[JSON]:
    """Open spells the seed implies without recording them: a stopped site (since its last
    modification) and an unhealthy one (since ``_meta.health.since``)."""
    meta = site.get("_meta") or {}
    recorded = meta.get("windows", [])
    found: list[JSON] = []

    def is_open(condition: str) -> bool:
        return any(w["condition"] == condition and w["end"] is None for w in recorded)

    props = site.get("properties") or {}
    if props.get("state") == "Stopped" and not is_open("stopped"):
        since = props.get("lastModifiedTimeUtc") or meta.get("created")
        found.append(
            {"condition": "stopped", "start": since or "1970-01-01T00:00:00Z", "end": None}
        )
    health = meta.get("health")
    if isinstance(health, dict) and not is_open("unhealthy"):
        found.append(
            {
                "condition": "unhealthy",
                "start": health.get("since") or "1970-01-01T00:00:00Z",
                "end": None,
            }
        )
    return found


def windows_of(site: JSON) -> list[JSON]:
    return [*(site.get("_meta") or {}).get("windows", []), *implied_windows(site)]


def set_health(site: JSON, healthy: bool, at: str, summary: str | None = None) -> None:
    """Mark the app itself (not the platform) healthy, or failing its health checks."""
    meta = site.setdefault("_meta", {})
    if healthy:
        close_window(site, "unhealthy", at)
        meta.pop("health", None)
        return
    meta["health"] = {
        "availabilityState": "Degraded",
        "summary": summary or "Your web app is failing its health check on one or more instances.",
        "reasonType": "Unplanned",
        "since": at,
    }
    open_window(site, "unhealthy", at)


def is_unhealthy(site: JSON) -> bool:
    return isinstance((site.get("_meta") or {}).get("health"), dict)


# -- helpers ------------------------------------------------------------------------------------


def _site(req: ArmRequest) -> JSON:
    p = req.params
    return req.resource(site_id(p["subscription"], p["group"], p["site"]), SITE_TYPE, p["site"])


def _plan(req: ArmRequest) -> JSON:
    p = req.params
    return req.resource(plan_id(p["subscription"], p["group"], p["plan"]), PLAN_TYPE, p["plan"])


def _sorted(items: list[JSON]) -> list[JSON]:
    return sorted(items, key=lambda b: str(b["id"]).lower())


def _plan_view(store: Store, plan: JSON, site_counts: dict[str, int] | None = None) -> JSON:
    """The plan as App Service reports it: the site count and worker count are live values."""
    body = copy.deepcopy(plan)
    counts = site_counts if site_counts is not None else _site_counts(store)
    body["properties"]["numberOfSites"] = counts.get(plan["id"].lower(), 0)
    body["properties"]["numberOfWorkers"] = body["sku"]["capacity"]
    known = PLAN_SKUS.get(str(body["sku"].get("name")))
    if known is not None:
        body["properties"]["maximumNumberOfWorkers"] = known[2]
    plan_fields(body)
    return body


def _site_views(store: Store, sites: list[JSON]) -> list[JSON]:
    """Sites as App Service returns them; each plan is looked up once for a whole list."""
    tiers: dict[str, str | None] = {}
    views = []
    for site in sites:
        farm = str(site["properties"].get("serverFarmId", ""))
        if farm.lower() not in tiers:
            plan = store.get(farm) if farm else None
            tiers[farm.lower()] = plan["sku"].get("tier") if plan else None
        views.append(site_view(site, tiers[farm.lower()]))
    return views


def _site_counts(store: Store) -> dict[str, int]:
    # One pass over the sites serves a whole list of plans (2,000 plans in the benchmark fleet).
    counts: dict[str, int] = {}
    for site in store.of_type(SITE_TYPE):
        farm = str(site["properties"].get("serverFarmId", "")).lower()
        counts[farm] = counts.get(farm, 0) + 1
    return counts


def sites_on_plan(store: Store, plan_resource_id: str) -> list[JSON]:
    wanted = plan_resource_id.lower()
    return _sorted(
        [
            s
            for s in store.of_type(SITE_TYPE)
            if str(s["properties"].get("serverFarmId", "")).lower() == wanted
        ]
    )


def config_resource(store: Store, site: JSON, name: str) -> JSON:
    """The site's ``config/{name}`` resource, created with App Service's defaults if missing."""
    body = store.get(f"{site['id']}/config/{name}")
    if body is None:
        defaults: JSON = default_site_config(site["name"]) if name == "web" else {}
        body = store.put(
            {
                "id": f"{site['id']}/config/{name}",
                "name": name,
                "type": CONFIG_TYPE,
                "location": site["location"],
                "properties": defaults,
            }
        )
    return body


def _defaults(site: JSON) -> JSON:
    return default_site_config(str(site["name"]))


def _touch(site: JSON, req: ArmRequest) -> None:
    site["properties"]["lastModifiedTimeUtc"] = isoformat(req.store.now())
    req.store.touch()


# -- sites ----------------------------------------------------------------------------------------

router = Router()


@router.route("GET", SUB + "/providers/Microsoft.Web/sites", "web_apps.list")
def sites_list(req: ArmRequest) -> Response:
    scope = f"/subscriptions/{req.params['subscription']}"
    items = _sorted(list(req.store.of_type(SITE_TYPE, scope)))
    return page(
        req,
        items,
        page_size=100,
        token_name=SKIP_TOKEN,
        view=lambda chunk: _site_views(req.store, chunk),
    )


@router.route("GET", BASE + "/sites", "web_apps.list_by_resource_group")
def sites_list_by_group(req: ArmRequest) -> Response:
    p = req.params
    scope = f"/subscriptions/{p['subscription']}/resourceGroups/{p['group']}"
    items = _sorted(list(req.store.of_type(SITE_TYPE, scope)))
    return page(
        req,
        items,
        page_size=100,
        token_name=SKIP_TOKEN,
        view=lambda chunk: _site_views(req.store, chunk),
    )


@router.route("GET", SITE, "web_apps.get")
def site_get(req: ArmRequest) -> Response:
    return respond(_site_views(req.store, [_site(req)])[0])


@router.route("POST", SITE + "/stop", "web_apps.stop")
def site_stop(req: ArmRequest) -> Response:
    site = _site(req)
    if site["properties"]["state"] != "Stopped":
        now = isoformat(req.store.now())
        site["properties"]["state"] = "Stopped"
        open_window(site, "stopped", now)
        _touch(site, req)
    return respond(None, 200)


@router.route("POST", SITE + "/start", "web_apps.start")
def site_start(req: ArmRequest) -> Response:
    site = _site(req)
    if site["properties"]["state"] != "Running":
        now = isoformat(req.store.now())
        close_window(site, "stopped", now)
        site["properties"]["state"] = "Running"
        _touch(site, req)
    return respond(None, 200)


@router.route("POST", SITE + "/restart", "web_apps.restart")
def site_restart(req: ArmRequest) -> Response:
    site = _site(req)
    now = isoformat(req.store.now())
    # A restart recycles the worker processes of a running app. The emulated app's failure is a
    # bad process state, so a full restart clears it (what an operator hopes a restart does); a
    # soft restart (config reload only) does not, and a stopped app stays stopped.
    if site["properties"]["state"] == "Running":
        meta = site.setdefault("_meta", {})
        meta["last_restart"] = now
        meta["restarts"] = int(meta.get("restarts", 0)) + 1
        if (req.arg("softRestart") or "").lower() != "true":
            set_health(site, True, now)
        req.store.touch()
    return respond(None, 200)


# -- site config ------------------------------------------------------------------------------------


def validated_config(site: JSON, store: Store, changes: JSON) -> JSON:
    for field_name in ("minTlsVersion", "scmMinTlsVersion"):
        value = changes.get(field_name)
        if value is not None and value not in TLS_VERSIONS:
            raise bad_request(
                "BadRequest",
                f"The parameter {field_name} has an invalid value '{value}'. "
                f"Allowed values: {', '.join(TLS_VERSIONS)}.",
                target=field_name,
            )
    path = changes.get("healthCheckPath")
    if path and not str(path).startswith("/"):
        raise bad_request(
            "BadRequest",
            "The health check path must be a relative path starting with '/'.",
            target="healthCheckPath",
        )
    if changes.get("alwaysOn") is True:
        plan = store.get(str(site["properties"].get("serverFarmId", "")))
        if plan is not None and plan["sku"].get("tier") in ("Free", "Shared"):
            raise ArmError(
                409,
                "Conflict",
                "There was a conflict. AlwaysOn cannot be set for this site as the plan does "
                "not allow it. For more information on pricing and features, please see: "
                "https://aka.ms/appservicepricingdetails",
            )
    workers = changes.get("numberOfWorkers")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise bad_request(
            "BadRequest", "numberOfWorkers must be a positive integer.", target="numberOfWorkers"
        )
    return changes


def _properties(req: ArmRequest) -> JSON:
    properties = req.json().get("properties") or {}
    if not isinstance(properties, dict):
        raise bad_request("InvalidRequestContent", "'properties' must be an object.")
    return properties


def _mirror(site: JSON, config: JSON) -> None:
    """GET site carries a few live config values in ``properties.siteConfig``, as in Azure."""
    mirrored = site["properties"].setdefault("siteConfig", {})
    for name in ("numberOfWorkers", "linuxFxVersion", "alwaysOn", "http20Enabled"):
        if name in config:
            mirrored[name] = config[name]


@router.route("GET", SITE + "/config/web", "web_apps.get_configuration")
def config_get(req: ArmRequest) -> Response:
    site = _site(req)
    return respond(config_view(config_resource(req.store, site, "web"), _defaults(site)))


@router.route("PATCH", SITE + "/config/web", "web_apps.update_configuration")
def config_patch(req: ArmRequest) -> Response:
    site = _site(req)
    changes = validated_config(site, req.store, _properties(req))
    config = config_resource(req.store, site, "web")
    config["properties"].update(changes)
    _mirror(site, config["properties"])
    _touch(site, req)
    return respond(config_view(config, _defaults(site)))


@router.route("PUT", SITE + "/config/web", "web_apps.create_or_update_configuration")
def config_put(req: ArmRequest) -> Response:
    site = _site(req)
    changes = validated_config(site, req.store, _properties(req))
    config = config_resource(req.store, site, "web")
    # PUT replaces the config: what the body leaves out goes back to App Service's default.
    config["properties"] = {**default_site_config(site["name"]), **changes}
    _mirror(site, config["properties"])
    _touch(site, req)
    return respond(config_view(config, _defaults(site)))


@router.route("POST", SITE + "/config/appsettings/list", "web_apps.list_application_settings")
def appsettings_list(req: ArmRequest) -> Response:
    return respond(config_resource(req.store, _site(req), "appsettings"))


@router.route("PUT", SITE + "/config/appsettings", "web_apps.update_application_settings")
def appsettings_put(req: ArmRequest) -> Response:
    site = _site(req)
    properties = _properties(req)
    for name, value in properties.items():
        if not isinstance(value, str):
            raise bad_request(
                "BadRequest", f"The value of app setting '{name}' must be a string.", target=name
            )
    config = config_resource(req.store, site, "appsettings")
    config["properties"] = dict(properties)
    # App Service restarts the app to apply new settings.
    site.setdefault("_meta", {})["last_restart"] = isoformat(req.store.now())
    _touch(site, req)
    return respond(config)


@router.route("POST", SITE + "/config/connectionstrings/list", "web_apps.list_connection_strings")
def connectionstrings_list(req: ArmRequest) -> Response:
    return respond(config_resource(req.store, _site(req), "connectionstrings"))


@router.route("PUT", SITE + "/config/connectionstrings", "web_apps.update_connection_strings")
def connectionstrings_put(req: ArmRequest) -> Response:
    site = _site(req)
    cleaned: JSON = {}
    for name, entry in _properties(req).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
            raise bad_request(
                "BadRequest",
                f"Connection string '{name}' needs a string 'value' and a 'type'.",
                target=name,
            )
        kind = entry.get("type", "Custom")
        if kind not in CONNECTION_STRING_TYPES:
            raise bad_request(
                "BadRequest",
                f"The connection string type '{kind}' is not valid. Allowed values: "
                f"{', '.join(CONNECTION_STRING_TYPES)}.",
                target=name,
            )
        cleaned[name] = {"value": entry["value"], "type": kind}
    config = config_resource(req.store, site, "connectionstrings")
    config["properties"] = cleaned
    site.setdefault("_meta", {})["last_restart"] = isoformat(req.store.now())
    _touch(site, req)
    return respond(config)


# -- App Service plans ---------------------------------------------------------------------------


def _validated_sku(raw: Any, current: JSON | None) -> JSON:
    if not isinstance(raw, dict):
        raise bad_request("BadRequest", "'sku' must be an object.", target="sku")
    name = raw.get("name") or (current or {}).get("name")
    match = next((k for k in PLAN_SKUS if name and k.lower() == str(name).lower()), None)
    if match is None:
        raise bad_request(
            "BadRequest",
            f"The pricing tier '{name}' is not allowed for this App Service plan. Allowed "
            f"values: {', '.join(PLAN_SKUS)}.",
            target="sku.name",
        )
    capacity = raw.get("capacity", (current or {}).get("capacity", 1))
    maximum = PLAN_SKUS[match][2]
    if not isinstance(capacity, int) or capacity < 1 or capacity > maximum:
        raise bad_request(
            "BadRequest",
            f"The requested number of workers ({capacity}) is outside the range allowed for "
            f"the {PLAN_SKUS[match][0]} tier (1-{maximum}).",
            target="sku.capacity",
        )
    return _sku(match, capacity)


def _apply_plan_change(plan: JSON, sku: JSON | None, properties: JSON, tags: Any) -> None:
    if sku is not None:
        plan["sku"] = sku
        plan["properties"]["maximumNumberOfWorkers"] = PLAN_SKUS[sku["name"]][2]
        plan["properties"]["numberOfWorkers"] = sku["capacity"]
    for name in PLAN_WRITABLE:
        if name in properties:
            plan["properties"][name] = properties[name]
    if isinstance(tags, dict):
        plan["tags"] = tags


@router.route("GET", SUB + "/providers/Microsoft.Web/serverfarms", "app_service_plans.list")
def plans_list(req: ArmRequest) -> Response:
    scope = f"/subscriptions/{req.params['subscription']}"
    counts = _site_counts(req.store)
    plans = _sorted(list(req.store.of_type(PLAN_TYPE, scope)))
    items = [_plan_view(req.store, p, counts) for p in plans]
    return page(req, items, page_size=100, token_name=SKIP_TOKEN)


@router.route("GET", BASE + "/serverfarms", "app_service_plans.list_by_resource_group")
def plans_list_by_group(req: ArmRequest) -> Response:
    p = req.params
    scope = f"/subscriptions/{p['subscription']}/resourceGroups/{p['group']}"
    counts = _site_counts(req.store)
    plans = _sorted(list(req.store.of_type(PLAN_TYPE, scope)))
    items = [_plan_view(req.store, x, counts) for x in plans]
    return page(req, items, page_size=100, token_name=SKIP_TOKEN)


@router.route("GET", PLAN, "app_service_plans.get")
def plan_get(req: ArmRequest) -> Response:
    return respond(_plan_view(req.store, _plan(req)))


@router.route("PATCH", PLAN, "app_service_plans.update")
def plan_patch(req: ArmRequest) -> Response:
    body = req.json()
    plan = _plan(req)
    # AppServicePlanPatchResource has no sku; a raw dict can still carry one, and we honour it
    # (whether ARM does is unconfirmed, docs/azure-behaviours.md §5) rather than silently drop it.
    sku = _validated_sku(body["sku"], plan["sku"]) if "sku" in body else None
    _apply_plan_change(plan, sku, body.get("properties") or {}, body.get("tags"))
    req.store.touch()
    return respond(_plan_view(req.store, plan))


@router.route("PUT", PLAN, "app_service_plans.create_or_update")
def plan_put(req: ArmRequest) -> Response:
    p = req.params
    body = req.json()
    resource_id = plan_id(p["subscription"], p["group"], p["plan"])
    if lro.running(req.emulator, plan=resource_id):
        raise ArmError(
            409,
            "Conflict",
            f"Cannot modify the App Service plan '{p['plan']}' because another operation is "
            "in progress. Please retry after it completes.",
        )
    existing = req.store.get(resource_id)
    if not body.get("location"):
        raise bad_request(
            "LocationRequired", "The location property is required for this definition."
        )
    if "sku" not in body:
        raise bad_request("BadRequest", "The 'sku' property is required.", target="sku")
    sku = _validated_sku(body["sku"], existing["sku"] if existing else None)
    if existing is None:
        plan = new_plan(
            subscription=p["subscription"],
            group=p["group"],
            name=p["plan"],
            location=str(body["location"]),
            sku=sku["name"],
            capacity=sku["capacity"],
            tags=body.get("tags"),
        )
        # The OS is chosen at creation: kind "linux" with reserved true, else Windows.
        reserved = (body.get("properties") or {}).get("reserved")
        plan["properties"]["reserved"] = bool(reserved) if reserved is not None else True
        plan["kind"] = plan["properties"]["kind"] = str(
            body.get("kind") or ("linux" if plan["properties"]["reserved"] else "app")
        )
        plan["properties"]["provisioningState"] = "InProgress"
        plan["properties"]["status"] = "Creating"
        plan["_meta"]["created"] = isoformat(req.store.now())
        req.store.put(plan)
    else:
        plan = existing
        # The old SKU keeps serving until the scale operation completes.
        plan["properties"]["provisioningState"] = "InProgress"
        plan["properties"]["status"] = "Pending"
        req.store.touch()
    response = lro.start(
        req,
        finalize="web.plan_put",
        resource_id=resource_id,
        location=plan["location"],
        args={"sku": sku, "properties": body.get("properties") or {}, "tags": body.get("tags")},
        body=None,
        status=202,
        namespace="Microsoft.Web",
        status_kind="serverFarm",
        labels={"plan": resource_id},
    )
    # App Service answers this PUT with Location only (docs/azure-behaviours.md §5); the last Location poll
    # carries the plan, which is what ARMPolling returns for Location-only operations.
    del response.headers["Azure-AsyncOperation"]
    return response


@lro.finalizer("web.plan_put")
def _plan_put_done(emulator: Emulator, row: JSON, succeeded: bool) -> JSON | None:
    store = emulator.store
    plan = store.get(row["resource_id"])
    if plan is None:
        return None
    if not succeeded:
        if plan["properties"]["status"] == "Creating":
            store.delete(plan["id"])
            return None
        plan["properties"]["provisioningState"] = "Failed"
        plan["properties"]["status"] = "Ready"
        store.touch()
        return None
    args = row["args"]
    _apply_plan_change(plan, args["sku"], args["properties"], args.get("tags"))
    plan["properties"]["provisioningState"] = "Succeeded"
    plan["properties"]["status"] = "Ready"
    store.touch()
    return _plan_view(store, plan)


@router.route("DELETE", PLAN, "app_service_plans.delete")
def plan_delete(req: ArmRequest) -> Response:
    """200, or 204 when there was no such plan; a plan with sites on it is refused (409)."""
    p = req.params
    plan = req.store.get(plan_id(p["subscription"], p["group"], p["plan"]))
    if plan is None:
        return respond(None, 204)
    if sites_on_plan(req.store, plan["id"]):
        raise ArmError(
            409,
            "Conflict",
            f"Server farm '{p['plan']}' cannot be deleted because it has web app(s) assigned "
            "to it.",
        )
    req.store.delete(plan["id"])
    return respond(None, 200)


@router.route("GET", PLAN + "/sites", "app_service_plans.list_web_apps")
def plan_sites(req: ArmRequest) -> Response:
    plan = _plan(req)
    items = _site_views(req.store, sites_on_plan(req.store, plan["id"]))
    top = req.arg("$top")
    size = int(top) if top and top.isdigit() and int(top) > 0 else 100
    return page(req, items, page_size=size, token_name=SKIP_TOKEN)
