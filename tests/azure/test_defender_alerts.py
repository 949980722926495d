"""portal.azure.defender_alerts through azure-mgmt-security against the emulator."""

from __future__ import annotations

import pytest

from portal.azure.clients import azure_clients
from portal.azure.defender_alerts import (
    AlertStateChange,
    alert_state_change,
    parse_alert_id,
)
from portal.azure.errors import AzureNotFoundError

pytestmark = [pytest.mark.integration]


def _alerts(emulator):
    return [
        alert
        for subscription in emulator.subscription_ids
        for alert in azure_clients().security(subscription).alerts.list()
    ]


def _status(alert_id: str) -> str:
    ref = parse_alert_id(alert_id)
    alerts = azure_clients().security(ref.subscription_id).alerts
    if ref.resource_group is None:
        return alerts.get_subscription_level(ref.asc_location, ref.name).status
    return alerts.get_resource_group_level(ref.resource_group, ref.asc_location, ref.name).status


@pytest.fixture
def alert_ids(azure_emulator):
    """A resource-group alert and a subscription-level one, set back to Active afterwards."""
    alerts = _alerts(azure_emulator)
    in_group = next(a.id for a in alerts if parse_alert_id(a.id).resource_group)
    at_subscription = next(a.id for a in alerts if parse_alert_id(a.id).resource_group is None)
    yield in_group, at_subscription
    for alert_id in (in_group, at_subscription):
        alert_state_change(alert_id=alert_id, change=AlertStateChange.ACTIVATE)


@pytest.mark.parametrize("change", [AlertStateChange.DISMISS, AlertStateChange.RESOLVE])
def test_it_changes_a_resource_group_alerts_state_in_defender(alert_ids, change):
    in_group, _ = alert_ids

    alert_state_change(alert_id=in_group, change=change)

    assert _status(in_group) == change.status


@pytest.mark.parametrize("change", [AlertStateChange.DISMISS, AlertStateChange.RESOLVE])
def test_it_changes_a_subscription_level_alerts_state_in_defender(alert_ids, change):
    _, at_subscription = alert_ids

    alert_state_change(alert_id=at_subscription, change=change)

    assert _status(at_subscription) == change.status


def test_a_dismissed_alert_can_be_made_active_again(alert_ids):
    in_group, _ = alert_ids
    alert_state_change(alert_id=in_group, change=AlertStateChange.DISMISS)

    alert_state_change(alert_id=in_group, change=AlertStateChange.ACTIVATE)

    assert _status(in_group) == "Active"


def test_an_alert_that_is_gone_is_not_found(alert_ids):
    in_group, _ = alert_ids
    missing = in_group.rsplit("/", 1)[0] + "/2517000000000000_no-such-alert"

    with pytest.raises(AzureNotFoundError):
        alert_state_change(alert_id=missing, change=AlertStateChange.DISMISS)


@pytest.mark.parametrize(
    "alert_id",
    [
        "",
        "/subscriptions/s1/providers/Microsoft.Security/alerts/a1",
        "/subscriptions/s1/resourceGroups/g/providers/Microsoft.Web/sites/app",
        "/subscriptions/s1/providers/Microsoft.Security/locations/aue/alerts/",
    ],
)
def test_it_refuses_anything_that_is_not_an_alert_id(alert_id):
    with pytest.raises(ValueError, match="Not a Defender alert id"):
        parse_alert_id(alert_id)


def test_it_reads_both_levels_of_alert_id():
    group = parse_alert_id(
        "/subscriptions/s1/resourceGroups/rg-a/providers/Microsoft.Security/locations/centralus/alerts/a1"
    )
    subscription = parse_alert_id(
        "/subscriptions/s1/providers/Microsoft.Security/locations/centralus/alerts/a2"
    )

    assert (group.subscription_id, group.resource_group, group.asc_location, group.name) == (
        "s1",
        "rg-a",
        "centralus",
        "a1",
    )
    assert (subscription.resource_group, subscription.name) == (None, "a2")
