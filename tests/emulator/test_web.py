"""Microsoft.Web through azure-mgmt-web: sites, config, settings, connection strings, plans."""

from __future__ import annotations

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.mgmt.web.models import (
    AppServicePlan,
    AppServicePlanPatchResource,
    ConnectionStringDictionary,
    ConnStringValueTypePair,
    SiteConfigResource,
    SkuDescription,
    StringDictionary,
)

from tests.emulator import provider_clients as clients

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def quick_plan_operations(emulator):
    with clients.quick_lro(emulator, "app_service_plans.*"):
        yield


@pytest.fixture
def tenant(emulator):
    return clients.healthy_tenant(emulator, 1)


@pytest.fixture
def client(emulator, tenant):
    return clients.web(emulator, tenant["subscription_id"])


def test_it_gets_a_site_with_its_plan_and_running_state(client, tenant):
    site = client.web_apps.get(tenant["resource_group"], tenant["site_name"])

    assert site.id == tenant["site_id"]
    assert site.state == "Running"
    assert site.server_farm_id == tenant["plan_id"]
    assert site.default_host_name == f"{tenant['site_name']}.azurewebsites.net"
    assert site.tags == {"fleetwise-tenant": tenant["slug"]}


def test_it_lists_the_sites_of_a_subscription_and_of_a_resource_group(emulator, client, tenant):
    # Each tenant's site, and its stopped standby site in Australia Southeast where it has one.
    mine = [t for t in emulator.tenants if t["subscription_id"] == tenant["subscription_id"]]
    expected = {t["site_id"].lower() for t in mine}
    expected |= {t["standby_site_id"].lower() for t in mine if t["standby_site_id"]}

    in_subscription = {s.id.lower() for s in client.web_apps.list()}
    in_group = [s.id for s in client.web_apps.list_by_resource_group(tenant["resource_group"])]

    assert in_subscription == expected
    assert in_group == [tenant["site_id"]] + [s for s in [tenant["standby_site_id"]] if s]


def test_stop_makes_the_site_report_stopped_and_start_brings_it_back(client, tenant):
    group, name = tenant["resource_group"], tenant["site_name"]
    try:
        client.web_apps.stop(group, name)
        assert client.web_apps.get(group, name).state == "Stopped"
    finally:
        client.web_apps.start(group, name)

    assert client.web_apps.get(group, name).state == "Running"


def test_a_restart_heals_an_unhealthy_app_but_not_a_soft_restart(emulator):
    sick = clients.tenant_with(emulator, "unhealthy_site")
    client = clients.web(emulator, sick["subscription_id"])
    try:
        client.web_apps.restart(sick["resource_group"], sick["site_name"], soft_restart=True)
        soft = emulator.control("GET", f"resource?id={sick['site_id']}")
        assert "health" in soft["_meta"]

        client.web_apps.restart(sick["resource_group"], sick["site_name"])

        healed = emulator.control("GET", f"resource?id={sick['site_id']}")
        assert "health" not in healed["_meta"]
        assert healed["_meta"]["restarts"] == 2
        assert healed["_meta"]["windows"][-1]["condition"] == "unhealthy"
        assert healed["_meta"]["windows"][-1]["end"] is not None
    finally:
        emulator.reset()


def test_a_restart_leaves_a_stopped_site_stopped(client, tenant):
    group, name = tenant["resource_group"], tenant["site_name"]
    try:
        client.web_apps.stop(group, name)
        client.web_apps.restart(group, name)
        assert client.web_apps.get(group, name).state == "Stopped"
    finally:
        client.web_apps.start(group, name)


def test_it_reads_and_patches_the_site_config(client, tenant):
    group, name = tenant["resource_group"], tenant["site_name"]
    before = client.web_apps.get_configuration(group, name)
    assert before.min_tls_version == "1.2"
    assert before.health_check_path == "/healthz"

    try:
        patched = client.web_apps.update_configuration(
            group,
            name,
            SiteConfigResource(min_tls_version="1.3", health_check_path="/ready", always_on=False),
        )
        assert (patched.min_tls_version, patched.health_check_path, patched.always_on) == (
            "1.3",
            "/ready",
            False,
        )
        again = client.web_apps.get_configuration(group, name)
        assert again.min_tls_version == "1.3"
        # A PATCH leaves what it does not name alone.
        assert again.linux_fx_version == before.linux_fx_version
        assert client.web_apps.get(group, name).site_config.always_on is False
    finally:
        client.web_apps.update_configuration(
            group,
            name,
            SiteConfigResource(min_tls_version="1.2", health_check_path="/healthz", always_on=True),
        )


def test_a_config_put_replaces_what_it_does_not_name_with_defaults(client, tenant):
    group, name = tenant["resource_group"], tenant["site_name"]
    try:
        client.web_apps.update_configuration(group, name, SiteConfigResource(min_tls_version="1.0"))
        replaced = client.web_apps.create_or_update_configuration(
            group, name, SiteConfigResource(health_check_path="/status")
        )
        assert replaced.health_check_path == "/status"
        assert replaced.min_tls_version == "1.2"
    finally:
        client.web_apps.create_or_update_configuration(
            group, name, SiteConfigResource(health_check_path="/healthz")
        )


def test_it_refuses_a_minimum_tls_version_that_does_not_exist(client, tenant):
    with pytest.raises(HttpResponseError) as caught:
        client.web_apps.update_configuration(
            tenant["resource_group"], tenant["site_name"], {"properties": {"minTlsVersion": "0.9"}}
        )

    assert caught.value.status_code == 400
    assert "minTlsVersion" in caught.value.message


def test_always_on_is_refused_on_a_free_plan(emulator, client, tenant):
    group = tenant["resource_group"]
    plan = client.app_service_plans.get(group, tenant["plan_name"])
    try:
        client.app_service_plans.begin_create_or_update(
            group,
            tenant["plan_name"],
            AppServicePlan(location=plan.location, sku=SkuDescription(name="F1", capacity=1)),
        ).result()
        with pytest.raises(ResourceExistsError) as caught:
            client.web_apps.update_configuration(
                group, tenant["site_name"], SiteConfigResource(always_on=True)
            )
        assert "AlwaysOn cannot be set" in caught.value.message
    finally:
        client.app_service_plans.begin_create_or_update(
            group,
            tenant["plan_name"],
            AppServicePlan(
                location=plan.location,
                sku=SkuDescription(name=plan.sku.name, capacity=plan.sku.capacity),
            ),
        ).result()


def test_app_settings_are_listed_and_replaced_whole(client, tenant):
    group, name = tenant["resource_group"], tenant["site_name"]
    seeded = client.web_apps.list_application_settings(group, name).properties
    assert seeded["FLEETWISE_TENANT"] == tenant["slug"]

    try:
        written = client.web_apps.update_application_settings(
            group, name, StringDictionary(properties={"ONLY": "this"})
        )
        assert written.properties == {"ONLY": "this"}
        assert client.web_apps.list_application_settings(group, name).properties == {"ONLY": "this"}
    finally:
        client.web_apps.update_application_settings(
            group, name, StringDictionary(properties=seeded)
        )


def test_connection_strings_are_listed_and_replaced_whole(client, tenant):
    group, name = tenant["resource_group"], tenant["site_name"]
    seeded = client.web_apps.list_connection_strings(group, name).properties
    assert seeded["FleetwiseDb"].type == "SQLAzure"
    assert tenant["database_name"] in seeded["FleetwiseDb"].value

    try:
        client.web_apps.update_connection_strings(
            group,
            name,
            ConnectionStringDictionary(
                properties={"Cache": ConnStringValueTypePair(value="redis:6380", type="RedisCache")}
            ),
        )
        now = client.web_apps.list_connection_strings(group, name).properties
        assert set(now) == {"Cache"}
        assert (now["Cache"].value, now["Cache"].type) == ("redis:6380", "RedisCache")
    finally:
        client.web_apps.update_connection_strings(
            group, name, ConnectionStringDictionary(properties=seeded)
        )


def test_a_connection_string_type_must_be_one_app_service_knows(client, tenant):
    with pytest.raises(HttpResponseError) as caught:
        client.web_apps.update_connection_strings(
            tenant["resource_group"],
            tenant["site_name"],
            {"properties": {"Db": {"value": "x", "type": "Oracle"}}},
        )
    assert caught.value.status_code == 400


def test_a_plan_patch_answers_with_the_plan(client, tenant):
    group, name = tenant["resource_group"], tenant["plan_name"]
    try:
        plan = client.app_service_plans.update(
            group, name, AppServicePlanPatchResource(per_site_scaling=True)
        )
        assert plan.per_site_scaling is True
        assert plan.id == tenant["plan_id"]
        assert client.app_service_plans.get(group, name).per_site_scaling is True
    finally:
        client.app_service_plans.update(
            group, name, AppServicePlanPatchResource(per_site_scaling=False)
        )


def test_scaling_a_plan_runs_as_a_long_running_operation(emulator, client, tenant):
    group, name = tenant["resource_group"], tenant["plan_name"]
    before = client.app_service_plans.get(group, name)
    try:
        poller = client.app_service_plans.begin_create_or_update(
            group,
            name,
            AppServicePlan(location=before.location, sku=SkuDescription(name="P2v3", capacity=4)),
        )
        assert not poller.done()
        # The old size serves until the operation completes.
        pending = client.app_service_plans.get(group, name)
        assert pending.sku.name == before.sku.name
        assert pending.provisioning_state == "InProgress"

        scaled = poller.result()

        assert (scaled.sku.name, scaled.sku.tier, scaled.sku.capacity) == ("P2v3", "PremiumV3", 4)
        after = client.app_service_plans.get(group, name)
        assert (after.sku.name, after.number_of_workers, after.provisioning_state) == (
            "P2v3",
            4,
            "Succeeded",
        )
        requests = emulator.control("GET", "requests")["requests"]
        polls = [r for r in requests if r["operation"] == "operations.status"]
        assert polls, "the SDK should have polled the Location URL"
    finally:
        client.app_service_plans.begin_create_or_update(
            group,
            name,
            AppServicePlan(
                location=before.location,
                sku=SkuDescription(name=before.sku.name, capacity=before.sku.capacity),
            ),
        ).result()


def test_a_scale_that_fails_midway_keeps_the_old_size(emulator, client, tenant):
    group, name = tenant["resource_group"], tenant["plan_name"]
    before = client.app_service_plans.get(group, name)
    emulator.control(
        "POST",
        "faults/fail-lro",
        {"operation": "app_service_plans.create_or_update", "code": "InternalServerError"},
    )

    poller = client.app_service_plans.begin_create_or_update(
        group,
        name,
        AppServicePlan(location=before.location, sku=SkuDescription(name="P3v3", capacity=2)),
    )
    with pytest.raises(HttpResponseError) as caught:
        poller.result()

    assert "InternalServerError" in caught.value.message
    after = client.app_service_plans.get(group, name)
    assert (after.sku.name, after.sku.capacity) == (before.sku.name, before.sku.capacity)


def test_it_refuses_more_workers_than_the_tier_allows(client, tenant):
    plan = client.app_service_plans.get(tenant["resource_group"], tenant["plan_name"])

    with pytest.raises(HttpResponseError) as caught:
        client.app_service_plans.begin_create_or_update(
            tenant["resource_group"],
            tenant["plan_name"],
            AppServicePlan(location=plan.location, sku=SkuDescription(name="B1", capacity=5)),
        )

    assert caught.value.status_code == 400
    assert "1-3" in caught.value.message


def test_a_plan_lists_its_web_apps(client, tenant):
    sites = list(
        client.app_service_plans.list_web_apps(tenant["resource_group"], tenant["plan_name"])
    )

    assert [s.id for s in sites] == [tenant["site_id"]]
    assert (
        client.app_service_plans.get(tenant["resource_group"], tenant["plan_name"]).number_of_sites
        == 1
    )


def test_an_unknown_site_or_plan_is_404(client, tenant):
    with pytest.raises(ResourceNotFoundError):
        client.web_apps.get(tenant["resource_group"], "app-nobody")
    with pytest.raises(ResourceNotFoundError):
        client.web_apps.stop(tenant["resource_group"], "app-nobody")
    with pytest.raises(ResourceNotFoundError):
        client.app_service_plans.get(tenant["resource_group"], "asp-nobody")


def test_a_request_without_a_token_is_401(emulator, tenant):
    response = clients.raw(
        emulator,
        "GET",
        f"{emulator.arm_endpoint}{tenant['site_id']}?api-version=2025-05-01",
        audience=None,
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationFailed"


def test_a_token_for_another_audience_is_refused(emulator, tenant):
    client = clients.web(
        emulator, tenant["subscription_id"], credential_scopes=["https://vault.azure.net/.default"]
    )

    with pytest.raises(ClientAuthenticationError):
        client.web_apps.get(tenant["resource_group"], tenant["site_name"])


def test_sites_answer_503_during_a_regional_outage(emulator, tenant):
    client = clients.web(emulator, tenant["subscription_id"], retry_total=0)

    with clients.regional_outage(emulator), pytest.raises(HttpResponseError) as caught:
        client.web_apps.get(tenant["resource_group"], tenant["site_name"])

    assert caught.value.status_code == 503
    assert client.web_apps.get(tenant["resource_group"], tenant["site_name"]).state == "Running"
