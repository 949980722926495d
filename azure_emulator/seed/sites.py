"""Tenants' App Service: the plan, the site and its configuration, and Application Insights."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from azure_emulator.seed.builder import (
    PRIMARY_REGION,
    PRIMARY_REGION_DISPLAY,
    FleetBuilder,
    metric_profile,
)
from azure_emulator.state import JSON, isoformat

PLAN_SKUS = (
    ("P1v3", "PremiumV3", "Pv3"),
    ("P1v3", "PremiumV3", "Pv3"),
    ("P2v3", "PremiumV3", "Pv3"),
    ("S1", "Standard", "S"),
)


@dataclass(frozen=True)
class WebApp:
    """The ids of what :func:`tenant_web_app` created."""

    plan_name: str
    plan_id: str
    site_name: str
    site_id: str
    app_insights_id: str


@dataclass(frozen=True)
class SiteTarget:
    """What a tenant's site is given: its group, tags, database and seeded site problems."""

    slug: str
    resource_group: JSON
    subscription_id: str
    tags: dict[str, str]
    sql_server_name: str
    database_name: str
    unhealthy: bool
    stopped: bool


def tenant_web_app(b: FleetBuilder, target: SiteTarget) -> WebApp:
    """Plan, site, its config/web|connectionstrings|appsettings, and the App Insights component."""
    plan, workers = _plan(b, target)
    app_insights_id = (
        f"{target.resource_group['id']}/providers/Microsoft.Insights/components/appi-{target.slug}"
    )
    instrumentation_key = b.guid()
    site = _site(b, target, plan, workers)
    connection = (
        f"InstrumentationKey={instrumentation_key};"
        "IngestionEndpoint=https://australiaeast-1.in.applicationinsights.azure.com/"
    )
    _site_configs(b, target, site["id"], workers, connection)
    _app_insights(b, target, app_insights_id, instrumentation_key, connection)
    return WebApp(plan["name"], plan["id"], site["name"], site["id"], app_insights_id)


def _plan(b: FleetBuilder, target: SiteTarget) -> tuple[JSON, int]:
    workers = b.rng.choice((1, 1, 2, 2, 3))
    sku_name, tier, family = b.rng.choice(PLAN_SKUS)
    name = f"asp-{target.slug}"
    rg = target.resource_group
    plan = b.put(
        {
            "id": f"{rg['id']}/providers/Microsoft.Web/serverfarms/{name}",
            "name": name,
            "type": "Microsoft.Web/serverfarms",
            "kind": "linux",
            "location": PRIMARY_REGION_DISPLAY,
            "tags": dict(target.tags),
            "sku": {
                "name": sku_name,
                "tier": tier,
                "size": sku_name,
                "family": family,
                "capacity": workers,
            },
            "properties": _plan_properties(target, workers),
            "_meta": {
                "tenant": target.slug,
                "metrics": metric_profile(b.rng, b.rng.uniform(15, 45)),
            },
        }
    )
    return plan, workers


def _plan_properties(target: SiteTarget, workers: int) -> JSON:
    return {
        "status": "Ready",
        "numberOfWorkers": workers,
        "maximumNumberOfWorkers": 30,
        "numberOfSites": 1,
        "reserved": True,
        "provisioningState": "Succeeded",
        "geoRegion": PRIMARY_REGION_DISPLAY,
        "perSiteScaling": False,
        "elasticScaleEnabled": False,
        "zoneRedundant": False,
        "resourceGroup": target.resource_group["name"],
        "subscription": target.subscription_id,
        "kind": "linux",
        "isSpot": False,
        "hyperV": False,
    }


def _site_meta(b: FleetBuilder, target: SiteTarget) -> JSON:
    """Metric curves, and the health-check failure of a site seeded as unhealthy."""
    meta: JSON = {
        "tenant": target.slug,
        "metrics": metric_profile(b.rng, b.rng.uniform(5, 40), unhealthy=target.unhealthy),
    }
    if target.unhealthy:
        meta["health"] = {
            "availabilityState": b.rng.choice(("Degraded", "Unavailable")),
            "summary": "Your web app is failing its health check on one or more instances.",
            "reasonType": "Unplanned",
            "since": isoformat(b.now - timedelta(minutes=b.rng.randint(10, 300))),
        }
    return meta


def _site(b: FleetBuilder, target: SiteTarget, plan: JSON, workers: int) -> JSON:
    name = f"app-{target.slug}"
    host = f"{name}.azurewebsites.net"
    meta = _site_meta(b, target)
    return b.put(
        {
            "id": f"{target.resource_group['id']}/providers/Microsoft.Web/sites/{name}",
            "name": name,
            "type": "Microsoft.Web/sites",
            "kind": "app,linux",
            "location": PRIMARY_REGION_DISPLAY,
            "tags": dict(target.tags),
            "properties": {
                "state": "Stopped" if target.stopped else "Running",
                "enabled": True,
                "hostNames": [host],
                "enabledHostNames": [host, f"{name}.scm.azurewebsites.net"],
                "defaultHostName": host,
                "serverFarmId": plan["id"],
                "availabilityState": "Normal",
                "usageState": "Normal",
                "httpsOnly": True,
                "reserved": True,
                "resourceGroup": target.resource_group["name"],
                "repositorySiteName": name,
                "clientCertEnabled": False,
                "hostNamesDisabled": False,
                "lastModifiedTimeUtc": isoformat(b.days_ago(1, 40)),
                "outboundIpAddresses": "20.211.64.1,20.211.64.2",
                "siteConfig": {"numberOfWorkers": workers, "linuxFxVersion": "PYTHON|3.12"},
                "containerSize": 0,
                "dailyMemoryTimeQuota": 0,
                "keyVaultReferenceIdentity": "SystemAssigned",
            },
            "_meta": meta,
        }
    )


def _site_config(b: FleetBuilder, site_id: str, name: str, properties: JSON) -> None:
    b.put(
        {
            "id": f"{site_id}/config/{name}",
            "name": name,
            "type": "Microsoft.Web/sites/config",
            "location": PRIMARY_REGION_DISPLAY,
            "properties": properties,
        }
    )


def _site_configs(
    b: FleetBuilder, target: SiteTarget, site_id: str, workers: int, connection: str
) -> None:
    _site_config(b, site_id, "web", _web_config(workers))
    database = (
        f"Server=tcp:{target.sql_server_name}.database.windows.net,1433;"
        f"Initial Catalog={target.database_name};"
        "Authentication=Active Directory Managed Identity;Encrypt=True;"
    )
    _site_config(
        b,
        site_id,
        "connectionstrings",
        {"FleetwiseDb": {"value": database, "type": "SQLAzure"}},
    )
    _site_config(
        b,
        site_id,
        "appsettings",
        {
            "APPLICATIONINSIGHTS_CONNECTION_STRING": connection,
            "FLEETWISE_TENANT": target.slug,
            "WEBSITE_HEALTHCHECK_MAXPINGFAILURES": "10",
        },
    )


def _web_config(workers: int) -> JSON:
    return {
        "numberOfWorkers": workers,
        "linuxFxVersion": "PYTHON|3.12",
        "alwaysOn": True,
        "http20Enabled": True,
        "minTlsVersion": "1.2",
        "scmMinTlsVersion": "1.2",
        "ftpsState": "Disabled",
        "healthCheckPath": "/healthz",
        "httpLoggingEnabled": True,
        "detailedErrorLoggingEnabled": False,
        "use32BitWorkerProcess": False,
        "webSocketsEnabled": False,
        "managedPipelineMode": "Integrated",
        "loadBalancing": "LeastRequests",
        "minimumElasticInstanceCount": 0,
    }


def _app_insights(
    b: FleetBuilder,
    target: SiteTarget,
    component_id: str,
    instrumentation_key: str,
    connection: str,
) -> None:
    b.put(
        {
            "id": component_id,
            "name": f"appi-{target.slug}",
            "type": "microsoft.insights/components",
            "location": PRIMARY_REGION,
            "kind": "web",
            "tags": dict(target.tags),
            "properties": {
                "ApplicationId": f"appi-{target.slug}",
                "AppId": b.guid(),
                "Application_Type": "web",
                "InstrumentationKey": instrumentation_key,
                "ConnectionString": connection,
                "provisioningState": "Succeeded",
                "IngestionMode": "LogAnalytics",
                "RetentionInDays": 90,
            },
            "_meta": {
                "tenant": target.slug,
                "metrics": metric_profile(
                    b.rng, b.rng.uniform(50, 400), unhealthy=target.unhealthy
                ),
            },
        }
    )
