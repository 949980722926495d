"""Sending one delivery: retried with backoff on transient failures, given up on permanent
ones or after the cap, every attempt recorded; never sent twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Delivery, Event
from notifications.services import deliveries_sweep, delivery_attempt, retry_delay
from tests.conftest import free_port

pytestmark = pytest.mark.django_db


def delivery_to(target: str, channel: str = Delivery.Channel.TEAMS) -> Delivery:
    return Delivery.objects.create(
        event=Event.OPERATION_SUCCEEDED,
        event_key=f"test:{target}",
        channel=channel,
        target=target,
        subject="Restore in place of Acme succeeded",
        body="Your operation #7 succeeded.",
        facts=[["Tenant", "Acme (acme)"]],
        link="http://127.0.0.1:8000/operations/7/",
        next_attempt_at=timezone.now(),
    )


def test_a_failing_webhook_is_retried_with_backoff_and_each_failure_recorded(teams_channel):
    url = f"http://127.0.0.1:{teams_channel.port}/webhook/ops?fail=2&status=503"
    delivery = delivery_to(url)

    first = delivery_attempt(delivery_id=delivery.pk)
    second = delivery_attempt(delivery_id=delivery.pk)
    assert first is not None and second is not None and second > first  # backing off
    assert delivery_attempt(delivery_id=delivery.pk) is None

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SENT, 3)
    assert [f["error"] for f in delivery.failures] == [
        "The webhook answered HTTP 503: Simulated failure"
    ] * 2
    assert len(teams_channel.posts()) == 1


def test_a_webhook_that_is_gone_fails_at_once_and_says_why(teams_channel):
    delivery = delivery_to(f"http://127.0.0.1:{teams_channel.port}/webhook/ops?fail=9&status=404")

    assert delivery_attempt(delivery_id=delivery.pk) is None

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, 1)
    assert delivery.last_error == "The webhook answered HTTP 404: Simulated failure"
    assert teams_channel.posts() == []


def test_it_gives_up_after_the_last_attempt(teams_channel, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    delivery = delivery_to(f"http://127.0.0.1:{teams_channel.port}/webhook/ops?fail=99")

    delays = [delivery_attempt(delivery_id=delivery.pk) for _ in range(4)]

    assert delays[2:] == [None, None]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(delivery.failures)) == (
        Delivery.Status.FAILED, 3, 3,
    )  # fmt: skip


def test_an_unreachable_mail_server_is_a_transient_failure(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens
    delivery = delivery_to("sam.support@fleetwise.example", Delivery.Channel.EMAIL)

    assert delivery_attempt(delivery_id=delivery.pk) is not None

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_error.startswith("The mail server could not be reached")


def test_a_delivery_another_worker_holds_is_not_sent_twice(mailbox):
    delivery = delivery_to("sam.support@fleetwise.example", Delivery.Channel.EMAIL)
    Delivery.objects.filter(pk=delivery.pk).update(
        claimed_until=timezone.now() + timedelta(seconds=60)
    )

    assert delivery_attempt(delivery_id=delivery.pk) is None
    assert mailbox.messages() == []
    delivery.refresh_from_db()
    assert delivery.attempts == 0


def test_the_sweep_sends_what_the_broker_never_took(mailbox, settings, monkeypatch):
    sent = []
    monkeypatch.setattr("notifications.services.enqueue_delivery", lambda pk, _: sent.append(pk))
    overdue = delivery_to("sam.support@fleetwise.example", Delivery.Channel.EMAIL)
    Delivery.objects.filter(pk=overdue.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=settings.NOTIFY_SWEEP_GRACE_SECONDS + 1)
    )
    delivery_to("due.now@fleetwise.example", Delivery.Channel.EMAIL)  # its task is on the way

    assert deliveries_sweep() == 1
    assert sent == [overdue.pk]


def test_backoff_doubles_and_is_capped(settings):
    settings.NOTIFY_RETRY_BASE_SECONDS, settings.NOTIFY_RETRY_MAX_SECONDS = 10, 100
    assert 10 <= retry_delay(1) <= 12.5
    assert 40 <= retry_delay(3) <= 50
    assert retry_delay(10) == 100
