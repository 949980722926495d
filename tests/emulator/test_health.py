"""Resource Health availability statuses through azure-mgmt-resourcehealth (2025-05-01)."""

from __future__ import annotations

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)

from azure_emulator.testing import RunningEmulator
from tests.emulator import provider_clients as clients

pytestmark = pytest.mark.integration


@pytest.fixture
def tenant(emulator):
    return clients.healthy_tenant(emulator, 3)


@pytest.fixture
def client(emulator, tenant):
    return clients.health(emulator, tenant["subscription_id"])


def test_a_running_healthy_site_and_its_database_are_available(client, tenant):
    site = client.availability_statuses.get_by_resource(tenant["site_id"])
    database = client.availability_statuses.get_by_resource(tenant["database_id"])

    assert (
        site.id
        == f"{tenant['site_id']}/providers/Microsoft.ResourceHealth/availabilityStatuses/current"
    )
    assert site.name == "current"
    assert site["location"] == "australiaeast"
    assert site.properties.availability_state == "Available"
    assert database.properties.availability_state == "Available"
    assert site.properties.reported_time is not None


def test_a_seeded_unhealthy_site_is_degraded_or_unavailable_with_a_reason(emulator):
    sick = clients.tenant_with(emulator, "unhealthy_site")
    client = clients.health(emulator, sick["subscription_id"])
    seeded = emulator.control("GET", f"resource?id={sick['site_id']}")["_meta"]["health"]

    status = client.availability_statuses.get_by_resource(
        sick["site_id"], expand="recommendedactions"
    )

    assert status.properties.availability_state == seeded["availabilityState"]
    assert status.properties.summary == seeded["summary"]
    assert status.properties.reason_type == "Unplanned"
    assert status.properties.occured_time.isoformat().startswith(seeded["since"][:16])
    assert any("Restart" in a.action for a in status.properties.recommended_actions)


def test_a_stopped_site_is_unavailable_and_recently_resolved_once_started(emulator, client, tenant):
    web = clients.web(emulator, tenant["subscription_id"])
    web.web_apps.stop(tenant["resource_group"], tenant["site_name"])
    try:
        stopped = client.availability_statuses.get_by_resource(tenant["site_id"])
        assert stopped.properties.availability_state == "Unavailable"
        assert stopped.properties.reason_type == "Customer Initiated"
    finally:
        web.web_apps.start(tenant["resource_group"], tenant["site_name"])

    started = client.availability_statuses.get_by_resource(tenant["site_id"])
    assert started.properties.availability_state == "Available"
    assert started.properties.recently_resolved.resolved_time >= stopped.properties.occured_time
    history = list(client.availability_statuses.list(tenant["site_id"]))
    assert [h.properties.availability_state for h in history[:2]] == ["Available", "Unavailable"]


def test_recommended_actions_only_come_when_expanded(emulator):
    sick = clients.tenant_with(emulator, "unhealthy_site")
    client = clients.health(emulator, sick["subscription_id"])

    plain = client.availability_statuses.get_by_resource(sick["site_id"])

    assert plain.properties.recommended_actions is None


def test_it_lists_statuses_for_a_subscription_and_a_resource_group(emulator, client, tenant):
    everything = list(client.availability_statuses.list_by_subscription_id())
    in_group = list(client.availability_statuses.list_by_resource_group(tenant["resource_group"]))

    ids = {s.id.rsplit("/providers/Microsoft.ResourceHealth", 1)[0].lower() for s in everything}
    mine = [t for t in emulator.tenants if t["subscription_id"] == tenant["subscription_id"]]
    for t in mine:
        assert {t["site_id"].lower(), t["plan_id"].lower(), t["database_id"].lower()} <= ids
    # The tenant's site and plan, and its standby site and plan in Australia Southeast.
    standby = {tenant["standby_site_id"], tenant["standby_plan_id"]} - {None}
    assert {s.id.split("/providers/Microsoft.ResourceHealth")[0] for s in in_group} == {
        tenant["site_id"],
        tenant["plan_id"],
        *standby,
    }


def test_a_filter_on_availability_state_narrows_the_list(emulator):
    sick = clients.tenant_with(emulator, "unhealthy_site")
    client = clients.health(emulator, sick["subscription_id"])
    state = emulator.control("GET", f"resource?id={sick['site_id']}")["_meta"]["health"][
        "availabilityState"
    ]

    matching = list(
        client.availability_statuses.list_by_subscription_id(
            filter=f"availabilityState eq '{state}'"
        )
    )

    assert sick["site_id"] in {
        s.id.split("/providers/Microsoft.ResourceHealth")[0] for s in matching
    }
    assert all(s.properties.availability_state == state for s in matching)


@pytest.fixture(scope="module")
def big_fleet():
    # 80 tenants put ~40 tenants and well over 100 covered resources in each subscription.
    with RunningEmulator(fleet_size=80, lro_seconds=1) as running:
        yield running


def test_the_subscription_list_pages_through_next_links(big_fleet):
    subscription = big_fleet.subscription_ids[0]
    tenants = [t for t in big_fleet.tenants if t["subscription_id"] == subscription]
    client = clients.health(big_fleet, subscription)

    pages = [
        list(page) for page in client.availability_statuses.list_by_subscription_id().by_page()
    ]
    statuses = [s for page in pages for s in page]

    assert len(pages) >= 2
    assert [len(page) for page in pages[:-1]] == [100] * (len(pages) - 1)
    assert len({s.id for s in statuses}) == len(statuses)
    covered = {s.id.split("/providers/Microsoft.ResourceHealth")[0].lower() for s in statuses}
    assert {t["site_id"].lower() for t in tenants} <= covered
    assert {t["database_id"].lower() for t in tenants} <= covered


def test_everything_in_a_region_under_outage_is_unavailable(emulator, client, tenant):
    with clients.regional_outage(emulator):
        site = client.availability_statuses.get_by_resource(
            tenant["site_id"], expand="recommendedactions"
        )
        in_group = list(
            client.availability_statuses.list_by_resource_group(tenant["resource_group"])
        )
        database = client.availability_statuses.get_by_resource(tenant["database_id"])
    after = client.availability_statuses.get_by_resource(tenant["site_id"])

    assert site.properties.availability_state == "Unavailable"
    assert site.properties.context == "Platform Initiated"
    assert site.properties.reason_type == "Unplanned"
    assert site.properties.recommended_actions
    # Australia East is down; the standby plan in Australia Southeast is not, and the stopped
    # standby site is unavailable only because it is stopped (customer initiated).
    found = {s.id.split("/providers/Microsoft.ResourceHealth")[0]: s.properties for s in in_group}
    assert found[tenant["site_id"]].availability_state == "Unavailable"
    assert found[tenant["plan_id"]].availability_state == "Unavailable"
    if tenant["standby_site_id"]:
        assert found[tenant["standby_plan_id"]].availability_state == "Available"
        assert found[tenant["standby_site_id"]].reason_type == "Customer Initiated"
    assert database.properties.availability_state == "Unavailable"
    assert after.properties.availability_state == "Available"


def test_an_unknown_resource_is_404_and_an_uncovered_type_400(client, tenant):
    with pytest.raises(ResourceNotFoundError):
        client.availability_statuses.get_by_resource(tenant["site_id"] + "-gone")
    with pytest.raises(HttpResponseError) as caught:
        client.availability_statuses.get_by_resource(tenant["resource_group_id"])
    assert caught.value.status_code == 400


def test_resource_health_needs_an_arm_token(emulator, tenant):
    client = clients.health(
        emulator, tenant["subscription_id"], credential_scopes=["https://vault.azure.net/.default"]
    )

    with pytest.raises(ClientAuthenticationError):
        client.availability_statuses.get_by_resource(tenant["site_id"])
