"""Defender for Cloud alerts through azure-mgmt-security (alerts api-version 2022-01-01)."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError
from azure.mgmt.security.v2022_01_01.models import AzureResourceIdentifier, LogAnalyticsIdentifier

from tests.emulator import provider_clients as clients

pytestmark = pytest.mark.integration


@pytest.fixture
def subscription(emulator):
    return emulator.subscription_ids[0]


@pytest.fixture
def client(emulator, subscription):
    return clients.security(emulator, subscription)


def parts(alert_id):
    """(resource group or None, ASC location) of an alert id."""
    segments = alert_id.split("/")
    lowered = [s.lower() for s in segments]
    group = segments[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered else None
    return group, segments[lowered.index("locations") + 1]


def group_alert(client):
    return next(a for a in client.alerts.list() if parts(a.id)[0] is not None)


def test_it_lists_the_subscriptions_alerts_newest_first_with_every_severity(
    emulator, client, subscription
):
    everywhere = [
        a for s in emulator.subscription_ids for a in clients.security(emulator, s).alerts.list()
    ]
    alerts = list(client.alerts.list())

    assert alerts
    assert all(a.type == "Microsoft.Security/Locations/alerts" for a in alerts)
    assert {a.severity for a in everywhere} == {"High", "Medium", "Low", "Informational"}
    generated = [a.time_generated_utc for a in alerts]
    assert generated == sorted(generated, reverse=True)
    assert all(a.id.split("/")[2] == subscription for a in alerts)


def test_resource_identifiers_come_back_as_their_polymorphic_types(client):
    identifiers = [i for a in client.alerts.list() for i in a.resource_identifiers]

    assert any(isinstance(i, AzureResourceIdentifier) and i.azure_resource_id for i in identifiers)
    assert any(isinstance(i, LogAnalyticsIdentifier) and i.workspace_id for i in identifiers)


def test_it_lists_alerts_by_resource_group_and_by_region(client, subscription):
    alert = group_alert(client)
    group, location = parts(alert.id)

    in_group = list(client.alerts.list_by_resource_group(group))
    group_level = list(client.alerts.list_resource_group_level_by_region(location, group))
    subscription_level = list(client.alerts.list_subscription_level_by_region(location))

    assert alert.id in {a.id for a in in_group}
    assert all(parts(a.id)[0] == group for a in in_group)
    assert {a.id for a in group_level} == {a.id for a in in_group}
    assert subscription_level
    assert all(parts(a.id)[0] is None for a in subscription_level)
    assert list(client.alerts.list_subscription_level_by_region("westeurope")) == []


def test_it_gets_an_alert_at_the_level_it_lives_at_and_nowhere_else(client):
    alert = group_alert(client)
    group, location = parts(alert.id)
    sub_alert = next(a for a in client.alerts.list() if parts(a.id)[0] is None)

    got = client.alerts.get_resource_group_level(group, location, alert.name)
    got_sub = client.alerts.get_subscription_level(location, sub_alert.name)

    assert (got.id, got.alert_display_name, got.severity) == (
        alert.id,
        alert.alert_display_name,
        alert.severity,
    )
    assert got_sub.id == sub_alert.id
    with pytest.raises(ResourceNotFoundError):
        client.alerts.get_subscription_level(location, alert.name)
    with pytest.raises(ResourceNotFoundError):
        client.alerts.get_resource_group_level(group, "westeurope", alert.name)


@pytest.mark.parametrize(
    ("method", "status"),
    [
        ("update_resource_group_level_state_to_dismiss", "Dismissed"),
        ("update_resource_group_level_state_to_resolve", "Resolved"),
        ("update_resource_group_level_state_to_in_progress", "InProgress"),
        ("update_resource_group_level_state_to_activate", "Active"),
    ],
)
def test_resource_group_alerts_move_between_states(client, method, status):
    alert = group_alert(client)
    group, location = parts(alert.id)
    original = alert.status
    try:
        answer = getattr(client.alerts, method)(group, location, alert.name)
        assert answer is None  # 204, no body
        assert client.alerts.get_resource_group_level(group, location, alert.name).status == status
    finally:
        restore = {
            "Active": "activate",
            "Dismissed": "dismiss",
            "Resolved": "resolve",
            "InProgress": "in_progress",
        }
        getattr(client.alerts, f"update_resource_group_level_state_to_{restore[original]}")(
            group, location, alert.name
        )


@pytest.mark.parametrize(
    ("method", "status"),
    [
        ("update_subscription_level_state_to_dismiss", "Dismissed"),
        ("update_subscription_level_state_to_resolve", "Resolved"),
        ("update_subscription_level_state_to_in_progress", "InProgress"),
        ("update_subscription_level_state_to_activate", "Active"),
    ],
)
def test_subscription_alerts_move_between_states(client, method, status):
    alert = next(a for a in client.alerts.list() if parts(a.id)[0] is None)
    _, location = parts(alert.id)
    try:
        getattr(client.alerts, method)(location, alert.name)
        assert client.alerts.get_subscription_level(location, alert.name).status == status
    finally:
        client.alerts.update_subscription_level_state_to_activate(location, alert.name)


def test_changing_the_state_of_a_missing_alert_is_404(client):
    with pytest.raises(ResourceNotFoundError):
        client.alerts.update_subscription_level_state_to_dismiss("australiaeast", "no-such-alert")


def test_alerts_need_a_token(emulator, subscription):
    response = clients.raw(
        emulator,
        "GET",
        f"{emulator.arm_endpoint}/subscriptions/{subscription}/providers/Microsoft.Security/alerts"
        "?api-version=2022-01-01",
        audience=None,
    )
    assert response.status_code == 401

    refused = clients.security(
        emulator, subscription, credential_scopes=["https://vault.azure.net/.default"]
    )
    with pytest.raises(ClientAuthenticationError):
        list(refused.alerts.list())


def test_alerts_stay_readable_during_a_regional_outage(emulator, client):
    alert = group_alert(client)
    group, location = parts(alert.id)

    with clients.regional_outage(emulator):
        assert client.alerts.get_resource_group_level(group, location, alert.name).id == alert.id
