"""Creating, updating and deleting App Service sites through azure-mgmt-web (standby sites)."""

from __future__ import annotations

import contextlib
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.web.models import (
    AppServicePlan,
    AppServicePlanProperties,
    ConnectionStringDictionary,
    ConnStringInfo,
    ConnStringValueTypePair,
    ManagedServiceIdentity,
    NameValuePair,
    Site,
    SiteConfig,
    SiteProperties,
    SkuDescription,
    StringDictionary,
    UserAssignedIdentity,
)

from tests.emulator import provider_clients as clients

pytestmark = pytest.mark.integration

REFERENCE = "@Microsoft.KeyVault(SecretUri=https://kv-fleetwise.vault.azure.net/secrets/db/)"


@pytest.fixture
def tenant(emulator):
    return next(t for t in emulator.tenants if t["standby_plan_id"])


@pytest.fixture
def client(emulator, tenant):
    return clients.web(emulator, tenant["subscription_id"])


@pytest.fixture
def new_site(client, tenant):
    """A site name of our own in the tenant's group; deleted afterwards if it still exists."""
    name = f"app-drill-{uuid.uuid4().hex[:8]}"
    yield name
    with contextlib.suppress(ResourceNotFoundError):
        client.web_apps.delete(tenant["resource_group"], name)


def _site(tenant, **config):
    return Site(
        location="Australia Southeast",
        tags={"fleetwise-tenant": tenant["slug"], "fleetwise-role": "standby"},
        properties=SiteProperties(
            server_farm_id=tenant["standby_plan_id"],
            site_config=SiteConfig(**config) if config else None,
        ),
    )


def test_a_site_created_on_an_existing_plan_runs_and_keeps_the_settings_it_was_given(
    client, tenant, new_site
):
    group = tenant["resource_group"]
    body = _site(
        tenant,
        app_settings=[NameValuePair(name="FLEETWISE_SECRET", value=REFERENCE)],
        connection_strings=[
            ConnStringInfo(name="FleetwiseDb", connection_string="Server=tcp:x", type="SQLAzure")
        ],
    )

    made = client.web_apps.begin_create_or_update(group, new_site, body).result()

    assert made.name == new_site
    assert made.state == "Running"
    assert made.location == "Australia Southeast"
    assert made.default_host_name == f"{new_site}.azurewebsites.net"
    assert made.server_farm_id.lower() == tenant["standby_plan_id"].lower()
    # A Key Vault reference is stored as given: App Service resolves it only inside the app.
    settings = client.web_apps.list_application_settings(group, new_site).properties
    assert settings == {"FLEETWISE_SECRET": REFERENCE}
    strings = client.web_apps.list_connection_strings(group, new_site).properties
    assert strings["FleetwiseDb"].value == "Server=tcp:x"
    assert str(strings["FleetwiseDb"].type.value) == "SQLAzure"
    assert client.web_apps.get_configuration(group, new_site).health_check_path == "/healthz"


def test_a_put_on_an_existing_site_updates_its_tags_and_keeps_its_state(client, tenant, new_site):
    group = tenant["resource_group"]
    client.web_apps.begin_create_or_update(group, new_site, _site(tenant)).result()
    client.web_apps.stop(group, new_site)
    body = _site(tenant)
    body.tags = {"fleetwise-tenant": tenant["slug"], "changed": "yes"}

    updated = client.web_apps.begin_create_or_update(group, new_site, body).result()

    assert updated.tags == {"fleetwise-tenant": tenant["slug"], "changed": "yes"}
    assert updated.state == "Stopped"


def test_app_settings_put_replaces_them_and_keeps_a_key_vault_reference_verbatim(
    client, tenant, new_site
):
    group = tenant["resource_group"]
    client.web_apps.begin_create_or_update(group, new_site, _site(tenant)).result()

    client.web_apps.update_application_settings(
        group, new_site, StringDictionary(properties={"A": "1", "DB": REFERENCE})
    )
    client.web_apps.update_application_settings(
        group, new_site, StringDictionary(properties={"DB": REFERENCE})
    )

    assert client.web_apps.list_application_settings(group, new_site).properties == {
        "DB": REFERENCE
    }


def test_a_site_name_is_global_so_a_second_group_cannot_take_it(client, tenant):
    other = next(
        s
        for s in client.web_apps.list()
        if s.id.split("/")[4].lower() != tenant["resource_group"].lower()
    )

    with pytest.raises(HttpResponseError) as refused:
        client.web_apps.begin_create_or_update(
            tenant["resource_group"], other.name, _site(tenant)
        ).result()

    assert refused.value.status_code == 409
    assert f"Website with given name {other.name} already exists" in str(refused.value)


def test_a_site_needs_an_existing_plan_in_its_own_region(client, tenant, new_site):
    group = tenant["resource_group"]
    missing = _site(tenant)
    missing.properties.server_farm_id = tenant["standby_plan_id"] + "-nope"
    elsewhere = _site(tenant)
    elsewhere.properties.server_farm_id = tenant["plan_id"]  # Australia East

    with pytest.raises(ResourceNotFoundError):
        client.web_apps.begin_create_or_update(group, new_site, missing).result()
    with pytest.raises(HttpResponseError) as refused:
        client.web_apps.begin_create_or_update(group, new_site, elsewhere).result()

    assert refused.value.status_code == 400
    with pytest.raises(ResourceNotFoundError):
        client.web_apps.get(group, new_site)


def test_delete_removes_the_site_and_its_settings_but_not_its_plan(client, tenant, new_site):
    group = tenant["resource_group"]
    client.web_apps.begin_create_or_update(group, new_site, _site(tenant)).result()

    client.web_apps.delete(group, new_site)

    with pytest.raises(ResourceNotFoundError):
        client.web_apps.get(group, new_site)
    with pytest.raises(ResourceNotFoundError):
        client.web_apps.list_application_settings(group, new_site)
    with pytest.raises(ResourceNotFoundError):
        client.web_apps.delete(group, new_site)
    plan = tenant["standby_plan_id"].rsplit("/", 1)[-1]
    assert client.app_service_plans.get(group, plan).name == plan


def test_an_app_whose_connection_string_names_a_missing_database_fails_its_health_check(
    emulator, client, tenant, new_site
):
    group = tenant["resource_group"]
    server = tenant["sql_server_name"]

    def pointing_at(database):
        value = f"Server=tcp:{server}.database.windows.net,1433;Initial Catalog={database};"
        client.web_apps.update_connection_strings(
            group,
            new_site,
            ConnectionStringDictionary(
                properties={"FleetwiseDb": ConnStringValueTypePair(value=value, type="SQLAzure")}
            ),
        )
        site_id = f"{tenant['resource_group_id']}/providers/Microsoft.Web/sites/{new_site}"
        status = clients.health(emulator, tenant["subscription_id"])
        return status.availability_statuses.get_by_resource(site_id).properties

    client.web_apps.begin_create_or_update(group, new_site, _site(tenant)).result()

    missing = pointing_at("db-that-is-not-there")
    present = pointing_at(tenant["database_name"])

    assert missing.availability_state == "Degraded"
    assert f"cannot open its database db-that-is-not-there on {server}" in missing.summary
    assert present.availability_state == "Available"


IDENTITY = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-fleetwise-security"
    "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-fleetwise-app"
)


def test_a_site_created_with_a_user_assigned_identity_and_security_settings_keeps_them(
    client, tenant, new_site
):
    group = tenant["resource_group"]
    body = _site(tenant, min_tls_version="1.2", ftps_state="Disabled", http20_enabled=True)
    body.kind = "app,linux"
    body.https_only = True
    body.identity = ManagedServiceIdentity(
        type="UserAssigned", user_assigned_identities={IDENTITY: UserAssignedIdentity()}
    )

    made = client.web_apps.begin_create_or_update(group, new_site, body).result()

    assert made.https_only is True and made.kind == "app,linux"
    assigned = made.identity.user_assigned_identities
    assert list(assigned) == [IDENTITY]
    # App Service answers each identity's principal and client ids; they are the identity's own.
    assert assigned[IDENTITY].principal_id and assigned[IDENTITY].client_id
    again = client.web_apps.get(group, new_site).identity.user_assigned_identities[IDENTITY]
    assert again.principal_id == assigned[IDENTITY].principal_id
    config = client.web_apps.get_configuration(group, new_site)
    assert (config.min_tls_version, config.ftps_state, config.http20_enabled) == (
        "1.2",
        "Disabled",
        True,
    )


@pytest.mark.parametrize(
    ("identity", "config", "words"),
    [
        ({"type": "UserAssigned"}, {}, "userAssignedIdentities"),
        ({"type": "UserAssigned", "userAssignedIdentities": {"/not/an/identity": {}}}, {}, "not a"),
        ({"type": "Magic"}, {}, "identity type 'Magic'"),
        (None, {"minTlsVersion": "0.9"}, "minTlsVersion"),
    ],
)
def test_a_bad_identity_or_site_config_is_refused_and_creates_nothing(
    emulator, tenant, new_site, identity, config, words
):
    site_id = f"{tenant['resource_group_id']}/providers/Microsoft.Web/sites/{new_site}"
    body = {
        "location": "Australia Southeast",
        "properties": {"serverFarmId": tenant["standby_plan_id"], "siteConfig": config},
    }
    if identity is not None:
        body["identity"] = identity
    url = f"{emulator.arm_endpoint}{site_id}?api-version=2025-05-01"
    answer = clients.raw(emulator, "PUT", url, json=body)

    assert answer.status_code == 400 and words in answer.text
    assert clients.raw(emulator, "GET", url).status_code == 404


def test_during_an_outage_a_site_can_be_made_only_in_a_group_outside_the_downed_region(
    emulator, client, tenant, new_site
):
    # Resource Manager keeps a group's metadata in the group's region: the tenant's group is in
    # Australia East, the paired SQL server's group in Australia Southeast.
    paired_group = tenant["geo_server_id"].split("/")[4]
    emulator.control("POST", "faults/outage", {"region": "australiaeast", "active": True})
    try:
        with pytest.raises(HttpResponseError) as refused:
            client.web_apps.begin_create_or_update(
                tenant["resource_group"], new_site, _site(tenant)
            ).result()
        made = client.web_apps.begin_create_or_update(
            paired_group, new_site, _site(tenant)
        ).result()
    finally:
        emulator.control("DELETE", "faults")
    client.web_apps.delete(paired_group, new_site)

    assert refused.value.status_code == 503
    assert made.location == "Australia Southeast"


@pytest.mark.parametrize(("kind", "reserved"), [("linux", True), ("app", False)])
def test_a_new_plan_keeps_its_os_and_is_deleted_only_once_it_has_no_sites(
    client, tenant, new_site, kind, reserved
):
    group = tenant["geo_server_id"].split("/")[4]
    name = f"asp-drill-{uuid.uuid4().hex[:8]}"
    body = AppServicePlan(
        location="Australia Southeast",
        kind=kind,
        sku=SkuDescription(name="P1v3", capacity=1),
        properties=AppServicePlanProperties(reserved=reserved),
    )
    made = client.app_service_plans.begin_create_or_update(group, name, body).result()
    assert (made.kind, made.properties.reserved) == (kind, reserved)
    site = _site(tenant)
    site.properties.server_farm_id = made.id
    client.web_apps.begin_create_or_update(group, new_site, site).result()

    with pytest.raises(HttpResponseError) as busy:
        client.app_service_plans.delete(group, name)
    assert busy.value.status_code == 409
    client.web_apps.delete(group, new_site)
    client.app_service_plans.delete(group, name)

    with pytest.raises(ResourceNotFoundError):
        client.app_service_plans.get(group, name)
