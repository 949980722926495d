"""App Service sites, site config and plans answer with the keys real App Service returns.

The expected key sets are copied from answers recorded against real Azure by the Azure SDK for
Python's tests (Azure/azure-sdk-for-python, sdk/appservice/azure-mgmt-web/tests/recordings/:
test_cli_mgmt_app_service.test_app_service_plan.yaml for the plan GET, and
test_cli_mgmt_web_app.test_web_app_slot.yaml for the site). Newer api-versions add keys, so the
emulator's answer must hold at least these (docs/azure-behaviours.md, "App Service response
shapes")."""

from __future__ import annotations

import pytest

from azure_emulator.providers.web_shapes import SITE_CONFIG_KEYS
from tests.emulator import provider_clients as clients

pytestmark = pytest.mark.integration

RECORDED_PLAN_PROPERTIES = set(
    [
        "serverFarmId",
        "name",
        "workerSize",
        "workerSizeId",
        "workerTierName",
        "numberOfWorkers",
        "currentWorkerSize",
        "currentWorkerSizeId",
        "currentNumberOfWorkers",
        "status",
        "webSpace",
        "subscription",
        "adminSiteName",
        "hostingEnvironment",
        "hostingEnvironmentProfile",
        "maximumNumberOfWorkers",
        "planName",
        "adminRuntimeSiteName",
        "computeMode",
        "siteMode",
        "geoRegion",
        "perSiteScaling",
        "maximumElasticWorkerCount",
        "numberOfSites",
        "hostingEnvironmentId",
        "isSpot",
        "spotExpirationTime",
        "freeOfferExpirationTime",
        "tags",
        "kind",
        "resourceGroup",
        "reserved",
        "isXenon",
        "hyperV",
        "mdmId",
        "targetWorkerCount",
        "targetWorkerSizeId",
        "provisioningState",
        "webSiteId",
        "existingServerFarmIds",
        "azBalancing",
    ]
)
RECORDED_SITE_PROPERTIES = set(
    [
        "name",
        "state",
        "hostNames",
        "webSpace",
        "selfLink",
        "repositorySiteName",
        "owner",
        "usageState",
        "enabled",
        "adminEnabled",
        "enabledHostNames",
        "siteProperties",
        "availabilityState",
        "sslCertificates",
        "csrs",
        "cers",
        "siteMode",
        "hostNameSslStates",
        "computeMode",
        "serverFarm",
        "serverFarmId",
        "reserved",
        "isXenon",
        "hyperV",
        "lastModifiedTimeUtc",
        "storageRecoveryDefaultState",
        "contentAvailabilityState",
        "runtimeAvailabilityState",
        "siteConfig",
        "deploymentId",
        "trafficManagerHostNames",
        "sku",
        "scmSiteAlsoStopped",
        "targetSwapSlot",
        "hostingEnvironment",
        "hostingEnvironmentProfile",
        "clientAffinityEnabled",
        "clientCertEnabled",
        "clientCertMode",
        "clientCertExclusionPaths",
        "hostNamesDisabled",
        "domainVerificationIdentifiers",
        "customDomainVerificationId",
        "kind",
        "inboundIpAddress",
        "possibleInboundIpAddresses",
        "ftpUsername",
        "ftpsHostName",
        "outboundIpAddresses",
        "possibleOutboundIpAddresses",
        "containerSize",
        "dailyMemoryTimeQuota",
        "suspendedTill",
        "siteDisabledReason",
        "functionExecutionUnitsCache",
        "maxNumberOfWorkers",
        "homeStamp",
        "cloningInfo",
        "hostingEnvironmentId",
        "tags",
        "resourceGroup",
        "defaultHostName",
        "slotSwapStatus",
        "httpsOnly",
        "redundancyMode",
        "inProgressOperationId",
        "geoDistributions",
        "privateEndpointConnections",
        "buildVersion",
        "targetBuildVersion",
        "migrationState",
        "eligibleLogCategories",
        "storageAccountRequired",
    ]
)
RECORDED_SSL_STATE = {
    "name",
    "sslState",
    "ipBasedSslResult",
    "virtualIP",
    "thumbprint",
    "toUpdate",
    "toUpdateIpBasedSsl",
    "ipBasedSslState",
    "hostType",
}


def _raw(response, deserialized, headers):
    return response.http_response.json()


@pytest.fixture
def tenant(fresh):
    return clients.healthy_tenant(fresh, 1)


@pytest.fixture
def client(fresh, tenant):
    return clients.web(fresh, tenant["subscription_id"])


def _names(tenant):
    return tenant["resource_group"], tenant["site_name"]


def test_a_plan_carries_every_property_app_service_records(client, tenant):
    body = client.app_service_plans.get(tenant["resource_group"], tenant["plan_name"], cls=_raw)

    assert RECORDED_PLAN_PROPERTIES - set(body["properties"]) == set()
    assert set(body["sku"]) >= {"name", "tier", "size", "family", "capacity"}
    props = body["properties"]
    assert props["currentNumberOfWorkers"] == body["sku"]["capacity"]
    assert (props["workerSize"], props["workerSizeId"], props["computeMode"]) == (
        "Default",
        0,
        "Dedicated",
    )


def test_a_plan_listed_has_the_same_keys_as_a_plan_read(client, tenant):
    read = client.app_service_plans.get(tenant["resource_group"], tenant["plan_name"], cls=_raw)
    listed = next(
        p
        for p in client.app_service_plans.list_by_resource_group(tenant["resource_group"])
        if p.name == tenant["plan_name"]
    )

    # azure-mgmt-web's models keep keys they have no attribute for (currentNumberOfWorkers,
    # workerSize): the wire keys are what the portal can read.
    assert set(listed.as_dict()["properties"]) == set(read["properties"])
    assert listed["properties"]["currentNumberOfWorkers"] == listed.sku.capacity


def test_a_site_carries_every_property_app_service_records(client, tenant):
    body = client.web_apps.get(*_names(tenant), cls=_raw)
    plan = client.app_service_plans.get(tenant["resource_group"], tenant["plan_name"])

    props = body["properties"]
    assert RECORDED_SITE_PROPERTIES - set(props) == set()
    assert props["sku"] == plan.sku.tier
    assert props["clientAffinityEnabled"] is True
    assert [s["name"] for s in props["hostNameSslStates"]] == props["enabledHostNames"]
    assert all(set(s) == RECORDED_SSL_STATE for s in props["hostNameSslStates"])
    assert [s["hostType"] for s in props["hostNameSslStates"]] == ["Standard", "Repository"]
    assert set(SITE_CONFIG_KEYS) <= set(props["siteConfig"])


def test_the_sdk_model_of_a_site_is_filled_from_those_properties(client, tenant):
    site = client.web_apps.get(*_names(tenant))

    assert site.sku
    assert site.client_affinity_enabled is True
    assert site.host_name_ssl_states[0].ssl_state == "Disabled"
    assert site.default_host_name in {s.name for s in site.host_name_ssl_states}


def test_the_site_config_carries_every_site_config_key_and_keeps_stored_values(client, tenant):
    before = client.web_apps.get_configuration(*_names(tenant), cls=_raw)
    client.web_apps.update_configuration(*_names(tenant), {"properties": {"minTlsVersion": "1.3"}})
    after = client.web_apps.get_configuration(*_names(tenant), cls=_raw)

    assert set(SITE_CONFIG_KEYS) <= set(before["properties"])
    assert after["properties"]["minTlsVersion"] == "1.3"
    assert after["properties"]["healthCheckPath"] == before["properties"]["healthCheckPath"]
