"""The preferences page (everyone with a role) and the list of what was sent (admins)."""

from __future__ import annotations

import pytest

from notifications.models import Delivery, Event, NotificationPreference
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db

URL = "/notifications/preferences/"


def test_a_person_without_a_choice_sees_e_mail_ticked(client, support):
    client.force_login(support)
    response = client.get(URL)

    assert response.status_code == 200
    form = response.context["form"]
    assert (form["by_email"].value(), form["by_teams"].value()) == (True, False)
    assert support.email in response.text


def test_choosing_teams_with_a_teams_webhook_is_saved_and_audited(client, account_manager):
    client.force_login(account_manager)
    url = "https://contoso.webhook.office.com/webhookb2/abc/IncomingWebhook/def/ghi"
    response = client.post(URL, {"by_teams": "on", "teams_webhook_url": url})

    assert response.status_code == 302
    preference = NotificationPreference.objects.get(person=account_manager)
    assert (preference.by_email, preference.by_teams, preference.teams_webhook_url) == (
        False, True, url,
    )  # fmt: skip
    event = AuditEvent.objects.get(action="notifications.preferences_changed")
    assert event.actor_id == account_manager.pk
    assert event.details == {"by_email": False, "by_teams": True, "teams_webhook": True}
    assert url not in str(event.details)  # the webhook's secret stays out of the audit trail


def test_a_webhook_anywhere_but_teams_is_refused_next_to_the_field_and_nothing_saved(
    client, support
):
    client.force_login(support)
    response = client.post(
        URL, {"by_email": "on", "by_teams": "on", "teams_webhook_url": "https://evil.example/x"}
    )

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "Webhooks may point only at" in errors["teams_webhook_url"][0]
    assert 'id="error-summary"' in response.text
    assert not NotificationPreference.objects.exists()


def test_teams_without_any_channel_is_refused(client, support, settings):
    settings.NOTIFY_TEAMS_WEBHOOK_URL = ""
    client.force_login(support)
    response = client.post(URL, {"by_teams": "on"})

    assert response.status_code == 400
    assert "no shared Teams channel" in response.context["form"].errors["teams_webhook_url"][0]
    assert not NotificationPreference.objects.exists()


def test_admins_see_what_was_sent_without_webhook_secrets(client, admin_user, support):
    Delivery.objects.create(
        event=Event.APPROVAL_NEEDED, event_key="k", channel=Delivery.Channel.TEAMS,
        target="https://contoso.webhook.office.com/webhookb2/SECRET", subject="Approval needed",
        body="b", status=Delivery.Status.FAILED, attempts=6, last_error="HTTP 503",
    )  # fmt: skip
    client.force_login(admin_user)
    response = client.get("/notifications/sent/?status=failed")

    assert response.status_code == 200
    assert "Teams webhook on contoso.webhook.office.com" in response.text
    assert "SECRET" not in response.text
    assert "HTTP 503" in response.text
    client.force_login(support)
    assert client.get("/notifications/sent/").status_code == 403


def test_the_sent_list_costs_a_fixed_number_of_queries(
    client, admin_user, django_assert_max_num_queries
):
    for n in range(30):
        Delivery.objects.create(
            event=Event.OPERATION_SUCCEEDED, event_key=f"k{n}", channel=Delivery.Channel.EMAIL,
            target=f"p{n}@fleetwise.example", subject="s", body="b",
        )  # fmt: skip
    client.force_login(admin_user)
    with django_assert_max_num_queries(8):
        assert client.get("/notifications/sent/").status_code == 200
