"""Dismissing and resolving Defender alerts: the service against the emulator, and the view."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from monitoring.models import DefenderAlert, TenantHealth
from monitoring.triage import TriageRefused, alert_triage
from portal.azure.clients import azure_clients
from portal.azure.defender_alerts import AlertStateChange, alert_state_change, parse_alert_id
from portal.models import AuditEvent, StaffProfile
from tests.factories import TenantFactory
from tests.monitoring.factories import DefenderAlertFactory, TenantHealthFactory

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def defender_status(alert_id: str) -> str:
    ref = parse_alert_id(alert_id)
    alerts = azure_clients().security(ref.subscription_id).alerts
    assert ref.resource_group is not None
    return alerts.get_resource_group_level(ref.resource_group, ref.asc_location, ref.name).status


@pytest.fixture
def alert(azure_emulator):
    """A snapshot row for a real resource-group alert of the emulator, Active again afterwards."""
    subscription = azure_emulator.subscription_ids[0]
    real = next(
        a
        for a in azure_clients().security(subscription).alerts.list()
        if parse_alert_id(a.id).resource_group
    )
    alert_state_change(alert_id=real.id, change=AlertStateChange.ACTIVATE)
    tenant = TenantFactory(slug="acme")
    TenantHealthFactory(tenant=tenant, alerts_high=1)
    row = DefenderAlertFactory(tenant=tenant, azure_id=real.id.lower(), name=real.name)
    yield row
    alert_state_change(alert_id=real.id, change=AlertStateChange.ACTIVATE)


@pytest.mark.parametrize(("change", "status"), [("dismiss", "Dismissed"), ("resolve", "Resolved")])
def test_support_closes_an_alert_in_defender_and_here_with_the_reason_audited(
    support, alert, change, status
):
    alert_triage(actor=support, alert_pk=alert.pk, change=change, reason="False positive: pen test")

    assert defender_status(alert.azure_id) == status
    alert.refresh_from_db()
    assert alert.status == status
    assert TenantHealth.objects.get(tenant=alert.tenant).alerts_high == 0
    event = AuditEvent.objects.filter(action=f"alert.{change}").latest("id")
    assert event.actor == support.username
    assert event.tenant == "acme"
    assert event.outcome == AuditEvent.Outcome.SUCCESS
    assert event.details["reason"] == "False positive: pen test"
    assert (event.details["from"], event.details["to"]) == ("Active", status)


def test_an_admin_may_close_alerts_too(admin_user, alert):
    alert_triage(actor=admin_user, alert_pk=alert.pk, change="resolve", reason="patched")

    assert defender_status(alert.azure_id) == "Resolved"


def test_an_account_manager_may_not_and_nothing_changes(account_manager, alert):
    with pytest.raises(PermissionDenied):
        alert_triage(actor=account_manager, alert_pk=alert.pk, change="dismiss", reason="x")

    assert defender_status(alert.azure_id) == "Active"
    assert DefenderAlert.objects.get(pk=alert.pk).status == "Active"


@pytest.mark.parametrize(
    ("change", "reason", "message"),
    [
        ("dismiss", "   ", "Give a reason."),
        ("dismiss", "x" * 501, "Keep the reason under 500 characters."),
        ("delete", "because", "Unknown action 'delete'."),
        ("activate", "because", "Unknown action 'activate'."),
    ],
)
def test_bad_requests_are_refused_audited_and_change_nothing(
    support, alert, change, reason, message
):
    with pytest.raises(TriageRefused, match=message):
        alert_triage(actor=support, alert_pk=alert.pk, change=change, reason=reason)

    assert defender_status(alert.azure_id) == "Active"
    assert DefenderAlert.objects.get(pk=alert.pk).status == "Active"
    event = AuditEvent.objects.latest("id")
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert event.details["refused"] == message


def test_a_closed_alert_is_not_closed_again(support, alert):
    DefenderAlert.objects.filter(pk=alert.pk).update(status="Dismissed")

    with pytest.raises(TriageRefused, match="already dismissed"):
        alert_triage(actor=support, alert_pk=alert.pk, change="resolve", reason="again")

    assert defender_status(alert.azure_id) == "Active"


def test_an_alert_defender_no_longer_has_is_refused_with_azures_message(support, azure_emulator):
    tenant = TenantFactory(slug="acme")
    gone = DefenderAlertFactory(tenant=tenant)  # its id names no alert in the emulator

    with pytest.raises(TriageRefused, match="Defender refused the change"):
        alert_triage(actor=support, alert_pk=gone.pk, change="dismiss", reason="noise")

    assert DefenderAlert.objects.get(pk=gone.pk).status == "Active"


def test_an_alert_on_a_tenant_the_person_may_not_see_is_404(support, alert):
    StaffProfile.objects.create(user=support, only_assigned_tenants=True)

    with pytest.raises(Http404):
        alert_triage(actor=support, alert_pk=alert.pk, change="dismiss", reason="x")

    assert defender_status(alert.azure_id) == "Active"


def test_the_alerts_page_dismisses_with_a_reason_and_says_so(client, support, alert):
    client.force_login(support)

    response = client.post(
        f"/monitoring/alerts/{alert.pk}/triage",
        {"action": "dismiss", "reason": "known scanner", "next": "/monitoring/alerts/?status="},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == "/monitoring/alerts/?status="
    body = response.content.decode()
    assert "is now dismissed" in body
    assert defender_status(alert.azure_id) == "Dismissed"


def test_the_alerts_page_shows_a_refusal_and_changes_nothing(client, support, alert):
    client.force_login(support)

    response = client.post(
        f"/monitoring/alerts/{alert.pk}/triage", {"action": "dismiss", "reason": ""}, follow=True
    )

    assert "Give a reason." in response.content.decode()
    assert defender_status(alert.azure_id) == "Active"


def test_an_account_managers_post_is_refused_and_audited(client, account_manager, alert):
    client.force_login(account_manager)

    response = client.post(
        f"/monitoring/alerts/{alert.pk}/triage", {"action": "dismiss", "reason": "mine"}
    )

    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="access.denied").exists()
    assert defender_status(alert.azure_id) == "Active"


def test_the_redirect_never_leaves_the_portal(client, support, alert):
    client.force_login(support)

    response = client.post(
        f"/monitoring/alerts/{alert.pk}/triage",
        {"action": "resolve", "reason": "fixed", "next": "https://evil.example/"},
    )

    assert response["Location"] == "/monitoring/alerts/"
