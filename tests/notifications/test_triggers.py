"""Each trigger through Django's real SMTP backend to an SMTP server, and to a real webhook
receiver standing in for Teams: who gets what, on which channel, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from monitoring.models import DefenderAlert, PostureCheck, StatusChange
from notifications.models import Delivery, NotificationPreference
from notifications.services import (
    operation_notify,
    security_digest_send,
    status_changes_notify,
)
from operations.models import Operation
from portal import roles
from tests.factories import TenantFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager")]


def operation_in(state, *, by, kind="restore_in_place", tenant=None):
    tenant = tenant or TenantFactory(slug="acme")
    return Operation.objects.create(
        tenant=tenant,
        subject_id=tenant.slug,
        subject_label=tenant.display_name,
        kind=kind,
        state=state,
        requested_by=by,
        reason="customer deleted invoices by mistake",
        ticket="INC-4711",
        parameters={},
        approval_expires_at=timezone.now() + timedelta(hours=4),
        finished_at=timezone.now() if state in Operation.FINISHED_STATES else None,
    )


def notify(operation, capture):
    with capture(execute=True):
        operation_notify(operation=operation)


def recipients(mailbox) -> list[str]:
    return sorted(str(message["To"]) for message in mailbox.messages())


def test_approvers_but_not_the_requester_are_asked_to_approve(
    mailbox, support, admin_user, account_manager, django_capture_on_commit_callbacks
):
    second_admin = UserFactory(username="blake.admin@fleetwise.example", groups=[roles.ADMINS])
    notify(operation_in("awaiting_approval", by=admin_user), django_capture_on_commit_callbacks)

    assert recipients(mailbox) == [second_admin.email]
    message = mailbox.messages()[0]
    assert message["Subject"] == "Approval needed: Restore in place of Acme"
    text = message.get_content()
    assert "Reason: customer deleted invoices by mistake" in text
    assert "Approve before:" in text
    assert "http://127.0.0.1:8000/operations/" in text
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SENT, 1)
    assert list(delivery.recipients.all()) == [second_admin]


@pytest.mark.parametrize(
    ("state", "subject"),
    [
        ("succeeded", "Restore in place of Acme succeeded"),
        ("failed", "Restore in place of Acme failed"),
        ("cancelled", "Restore in place of Acme was cancelled"),
    ],
)
def test_the_requester_hears_how_their_operation_ended(
    state, subject, mailbox, support, admin_user, django_capture_on_commit_callbacks
):
    notify(operation_in(state, by=support), django_capture_on_commit_callbacks)

    assert recipients(mailbox) == [support.email]
    assert mailbox.messages()[0]["Subject"] == subject


def test_a_failure_says_what_it_left_behind(mailbox, support, django_capture_on_commit_callbacks):
    operation = operation_in("failed", by=support)
    operation.error_message = "The restore point is no longer available."
    operation.outcome = "The tenant is on its original database."
    notify(operation, django_capture_on_commit_callbacks)

    text = mailbox.messages()[0].get_content()
    assert "Error: The restore point is no longer available." in text
    assert "What it left behind: The tenant is on its original database." in text


def test_an_operation_still_running_tells_nobody(mailbox, support, admin_user):
    operation_notify(operation=operation_in("running", by=support))
    assert not Delivery.objects.exists()


def test_the_account_manager_hears_their_tenant_was_restored(
    mailbox, support, account_manager, django_capture_on_commit_callbacks
):
    tenant = TenantFactory(slug="acme", account_manager=account_manager)
    notify(operation_in("succeeded", by=support, tenant=tenant), django_capture_on_commit_callbacks)

    by_person = {str(m["To"]): str(m["Subject"]) for m in mailbox.messages()}
    assert by_person == {
        support.email: "Restore in place of Acme succeeded",
        account_manager.email: "Acme was restored",
    }


def test_telling_twice_about_the_same_state_sends_once(
    mailbox, support, django_capture_on_commit_callbacks
):
    operation = operation_in("succeeded", by=support)
    notify(operation, django_capture_on_commit_callbacks)
    notify(operation, django_capture_on_commit_callbacks)

    assert len(mailbox.messages()) == 1
    assert Delivery.objects.count() == 1


def test_people_who_chose_teams_share_one_card_in_the_shared_channel(
    mailbox, teams_channel, admin_user, support, django_capture_on_commit_callbacks
):
    approvers = [
        UserFactory(username=f"admin{n}@fleetwise.example", groups=[roles.ADMINS]) for n in range(2)
    ]
    for person in approvers:
        NotificationPreference.objects.create(person=person, by_email=False, by_teams=True)
    notify(operation_in("awaiting_approval", by=support), django_capture_on_commit_callbacks)

    posts = teams_channel.posts()
    assert len(posts) == 1
    card = posts[0]["payload"]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["body"][0]["text"] == "Approval needed: Restore in place of Acme"
    [action] = card["content"]["actions"]
    assert action["type"] == "Action.OpenUrl"
    assert action["url"].startswith("http://127.0.0.1:8000/operations/")
    # admin_user kept the default (e-mail only).
    assert recipients(mailbox) == [admin_user.email]
    teams = Delivery.objects.get(channel=Delivery.Channel.TEAMS)
    assert set(teams.recipients.all()) == set(approvers)


def test_the_account_manager_hears_of_a_status_change_but_not_a_first_evaluation(
    mailbox, account_manager, django_capture_on_commit_callbacks
):
    tenant = TenantFactory(slug="acme", account_manager=account_manager)
    unmanaged = TenantFactory(slug="globex")
    at = datetime(2026, 12, 1, 18, 54, tzinfo=UTC)
    changes = [
        StatusChange.objects.create(tenant=tenant, at=at, from_status="", to_status="healthy"),
        StatusChange.objects.create(
            tenant=tenant, at=at, from_status="healthy", to_status="down",
            reasons=["The app answers 503 (Resource Health: Unavailable)."],
        ),
        StatusChange.objects.create(
            tenant=unmanaged, at=at, from_status="healthy", to_status="degraded"
        ),
    ]  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        status_changes_notify(changes=changes)

    [message] = mailbox.messages()
    assert message["To"] == account_manager.email
    assert message["Subject"] == "Acme is now Down"
    text = message.get_content()
    assert "changed from Healthy to Down" in text
    assert "Since: 2026-12-02 05:54:00 AEDT (2026-12-01 18:54:00 UTC)" in text
    assert "Why: The app answers 503 (Resource Health: Unavailable)." in text


def _alert(tenant, name: str, severity: str = "High") -> DefenderAlert:
    now = timezone.now()
    return DefenderAlert.objects.create(
        azure_id=f"/subscriptions/s/providers/microsoft.security/alerts/{name.lower()}",
        name=name, tenant=tenant, display_name=name, severity=severity, status="Active",
        generated_at=now, first_seen_at=now, last_seen_at=now,
    )  # fmt: skip


def _posture(tenant, passed: bool) -> PostureCheck:
    check, _ = PostureCheck.objects.update_or_create(
        tenant=tenant, check_name="https_only",
        defaults={"title": "HTTPS only", "expected": "on", "actual": "on" if passed else "off",
                  "passed": passed, "read_at": timezone.now()},
    )  # fmt: skip
    return check


def test_admins_get_one_digest_of_new_high_alerts_and_posture_failures(
    mailbox, admin_user, support, django_capture_on_commit_callbacks
):
    tenant = TenantFactory(slug="acme")
    _alert(tenant, "SQL injection attempt")
    _alert(tenant, "Port scan", severity="Medium")
    _posture(tenant, passed=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert security_digest_send() == 2

    [message] = mailbox.messages()
    assert message["To"] == admin_user.email
    assert message["Subject"] == (
        "Security digest: 1 new high-severity Defender alert(s) and 1 new posture failure(s)"
    )
    text = message.get_content()
    assert "Alert on acme: SQL injection attempt" in text
    assert "Port scan" not in text
    assert "Posture on acme: HTTPS only: off" in text

    with django_capture_on_commit_callbacks(execute=True):
        assert security_digest_send() == 0  # nothing new: no second message
    assert len(mailbox.messages()) == 1


def test_a_posture_check_that_recovers_and_fails_again_is_news_again(
    mailbox, admin_user, django_capture_on_commit_callbacks
):
    tenant = TenantFactory(slug="acme")
    _posture(tenant, passed=False)
    with django_capture_on_commit_callbacks(execute=True):
        security_digest_send()
        _posture(tenant, passed=True)
        assert security_digest_send() == 0
        _posture(tenant, passed=False)
        assert security_digest_send() == 1
    assert len(mailbox.messages()) == 2


def test_a_notification_that_cannot_be_recorded_never_undoes_the_operation(
    support, admin_user, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("preferences table unavailable")

    monkeypatch.setattr("notifications.services.targets_for", broken)
    operation = operation_in("succeeded", by=support)
    operation_notify(operation=operation)  # does not raise

    assert Operation.objects.filter(pk=operation.pk).exists()
    assert "Could not record the notifications for operation" in caplog.text
