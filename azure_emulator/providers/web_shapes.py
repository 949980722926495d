"""The fields App Service returns on sites, site config and plans that the emulator does not store.

The key sets are those of real App Service answers recorded by the Azure SDK for Python's tests
(``sdk/appservice/azure-mgmt-web/tests/recordings/``; docs/azure-behaviours.md, "App Service
response shapes"). Stored values always win; what is filled here is either derived from stored
state (a plan's current worker count, a site's host-name SSL states, its SKU from its plan) or
the value App Service reports for a plain Linux app on a dedicated plan (often ``null``).
"""

from __future__ import annotations

import copy
import hashlib

from azure_emulator.state import JSON

# The scale unit ("stamp") that serves the emulated region; App Service names hosts after it.
STAMP = "waws-prod-sy3-001"


def _webspace(group: str, location: str) -> str:
    return f"{group}-{location.replace(' ', '')}webspace"


def _fill(target: JSON, defaults: JSON) -> None:
    for key, value in defaults.items():
        target.setdefault(key, value)


def plan_fields(plan: JSON) -> None:
    """Add the plan properties App Service reports (in place, on a view copy of the plan)."""
    props = plan["properties"]
    farm_number = int(hashlib.sha256(plan["id"].lower().encode()).hexdigest()[:5], 16)
    shared = plan["sku"].get("tier") in ("Free", "Shared")
    _fill(
        props,
        {
            "serverFarmId": farm_number,
            "name": plan["name"],
            "status": "Ready",
            "subscription": plan["id"].split("/")[2],
            "geoRegion": plan["location"],
            "kind": plan.get("kind"),
            "reserved": "linux" in str(plan.get("kind", "")).lower(),
            "perSiteScaling": False,
            "elasticScaleEnabled": False,
            "maximumElasticWorkerCount": 1,
            "isSpot": False,
            "isXenon": False,
            "hyperV": False,
            "targetWorkerCount": 0,
            "targetWorkerSizeId": 0,
            "provisioningState": "Succeeded",
            "zoneRedundant": False,
            "workerSize": "Default",
            "workerSizeId": 0,
            "workerTierName": None,
            "currentWorkerSize": "Default",
            "currentWorkerSizeId": 0,
            "webSpace": _webspace(str(props.get("resourceGroup", "")), plan["location"]),
            "adminSiteName": None,
            "hostingEnvironment": None,
            "hostingEnvironmentProfile": None,
            "planName": "VirtualDedicatedPlan",
            "adminRuntimeSiteName": None,
            "computeMode": "Shared" if shared else "Dedicated",
            "siteMode": None,
            "hostingEnvironmentId": None,
            "spotExpirationTime": None,
            "freeOfferExpirationTime": None,
            "tags": None,
            "mdmId": f"{STAMP}_{farm_number}",
            "webSiteId": None,
            "existingServerFarmIds": None,
            "azBalancing": False,
        },
    )
    # The workers running now: the SKU's capacity until a scale operation completes.
    props["currentNumberOfWorkers"] = plan["sku"]["capacity"]


def host_name_ssl_states(host_names: list[str]) -> list[JSON]:
    """No custom domains or certificates: every host name is SSL ``Disabled``, the SCM one of
    type ``Repository``, as App Service reports a new app."""
    return [
        {
            "name": host,
            "sslState": "Disabled",
            "ipBasedSslResult": None,
            "virtualIP": None,
            "thumbprint": None,
            "toUpdate": None,
            "toUpdateIpBasedSsl": None,
            "ipBasedSslState": "NotConfigured",
            "hostType": "Repository" if ".scm." in host else "Standard",
        }
        for host in host_names
    ]


# Every SiteConfig key App Service returns; in a site's ``siteConfig`` the unset ones are null.
SITE_CONFIG_KEYS = [
    "numberOfWorkers",
    "defaultDocuments",
    "netFrameworkVersion",
    "phpVersion",
    "pythonVersion",
    "nodeVersion",
    "powerShellVersion",
    "linuxFxVersion",
    "windowsFxVersion",
    "requestTracingEnabled",
    "remoteDebuggingEnabled",
    "remoteDebuggingVersion",
    "httpLoggingEnabled",
    "azureMonitorLogCategories",
    "acrUseManagedIdentityCreds",
    "acrUserManagedIdentityID",
    "logsDirectorySizeLimit",
    "detailedErrorLoggingEnabled",
    "publishingUsername",
    "publishingPassword",
    "appSettings",
    "azureStorageAccounts",
    "metadata",
    "connectionStrings",
    "machineKey",
    "handlerMappings",
    "documentRoot",
    "scmType",
    "use32BitWorkerProcess",
    "webSocketsEnabled",
    "alwaysOn",
    "javaVersion",
    "javaContainer",
    "javaContainerVersion",
    "appCommandLine",
    "managedPipelineMode",
    "virtualApplications",
    "winAuthAdminState",
    "winAuthTenantState",
    "customAppPoolIdentityAdminState",
    "customAppPoolIdentityTenantState",
    "runtimeADUser",
    "runtimeADUserPassword",
    "loadBalancing",
    "routingRules",
    "experiments",
    "limits",
    "autoHealEnabled",
    "autoHealRules",
    "tracingOptions",
    "vnetName",
    "vnetRouteAllEnabled",
    "vnetPrivatePortsCount",
    "cors",
    "push",
    "apiDefinition",
    "apiManagementConfig",
    "autoSwapSlotName",
    "localMySqlEnabled",
    "managedServiceIdentityId",
    "xManagedServiceIdentityId",
    "ipSecurityRestrictions",
    "scmIpSecurityRestrictions",
    "scmIpSecurityRestrictionsUseMain",
    "http20Enabled",
    "minTlsVersion",
    "scmMinTlsVersion",
    "ftpsState",
    "preWarmedInstanceCount",
    "functionAppScaleLimit",
    "healthCheckPath",
    "fileChangeAuditEnabled",
    "functionsRuntimeScaleMonitoringEnabled",
    "websiteTimeZone",
    "minimumElasticInstanceCount",
]


def site_view(site: JSON, plan_tier: str | None) -> JSON:
    """A copy of ``site`` with the properties App Service returns filled in."""
    # Shallow copies only: a subscription's site list renders thousands of sites.
    body = {k: v for k, v in site.items() if not k.startswith("_")}
    props = body["properties"] = dict(site["properties"])
    name = str(site["name"])
    group = str(props.get("resourceGroup", ""))
    subscription = site["id"].split("/")[2]
    webspace = _webspace(group, site["location"])
    outbound = props.get("outboundIpAddresses")
    linux_fx = (props.get("siteConfig") or {}).get("linuxFxVersion")
    _fill(
        props,
        {
            "name": name,
            "webSpace": webspace,
            "selfLink": f"https://{STAMP}.api.azurewebsites.windows.net:454/subscriptions/"
            f"{subscription}/webspaces/{webspace}/sites/{name}",
            "owner": None,
            "adminEnabled": True,
            "siteProperties": {
                "metadata": None,
                "properties": [
                    {"name": "LinuxFxVersion", "value": linux_fx or ""},
                    {"name": "WindowsFxVersion", "value": None},
                ],
                "appSettings": None,
            },
            "sslCertificates": None,
            "csrs": [],
            "cers": None,
            "siteMode": None,
            "hostNameSslStates": host_name_ssl_states(list(props.get("enabledHostNames") or [])),
            "computeMode": None,
            "serverFarm": None,
            "isXenon": False,
            "hyperV": False,
            "storageRecoveryDefaultState": "Running",
            "contentAvailabilityState": "Normal",
            "runtimeAvailabilityState": "Normal",
            "deploymentId": name,
            "trafficManagerHostNames": None,
            "sku": plan_tier,
            "scmSiteAlsoStopped": False,
            "targetSwapSlot": None,
            "hostingEnvironment": None,
            "hostingEnvironmentProfile": None,
            "clientAffinityEnabled": True,
            "clientCertEnabled": False,
            "clientCertMode": "Required",
            "clientCertExclusionPaths": None,
            "domainVerificationIdentifiers": None,
            "customDomainVerificationId": hashlib.sha256(subscription.encode()).hexdigest().upper(),
            "kind": site.get("kind"),
            "inboundIpAddress": "20.211.64.100",
            "possibleInboundIpAddresses": "20.211.64.100",
            "ftpUsername": f"{name}\\${name}",
            "ftpsHostName": f"ftps://{STAMP}.ftp.azurewebsites.windows.net/site/wwwroot",
            "possibleOutboundIpAddresses": outbound,
            "suspendedTill": None,
            "siteDisabledReason": 0,
            "functionExecutionUnitsCache": None,
            "maxNumberOfWorkers": None,
            "homeStamp": STAMP,
            "cloningInfo": None,
            "hostingEnvironmentId": None,
            "tags": None,
            "slotSwapStatus": None,
            "redundancyMode": "None",
            "inProgressOperationId": None,
            "geoDistributions": None,
            "privateEndpointConnections": None,
            "buildVersion": None,
            "targetBuildVersion": None,
            "migrationState": None,
            "eligibleLogCategories": "AppServiceAppLogs,AppServiceAuditLogs,"
            "AppServiceConsoleLogs,AppServiceHTTPLogs,AppServiceIPSecAuditLogs,"
            "AppServicePlatformLogs,ScanLogs",
            "storageAccountRequired": False,
        },
    )
    site_config = dict(props.get("siteConfig") or {})
    _fill(site_config, dict.fromkeys(SITE_CONFIG_KEYS))
    props["siteConfig"] = site_config
    return body


def config_view(config: JSON, defaults: JSON) -> JSON:
    """A copy of a ``config/web`` resource carrying every SiteConfig key: the stored values,
    else a new app's default, else null."""
    body = copy.deepcopy(config)
    _fill(body["properties"], {k: copy.deepcopy(defaults.get(k)) for k in SITE_CONFIG_KEYS})
    return body
