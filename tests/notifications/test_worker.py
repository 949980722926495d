"""A real Celery worker sends after commit, and retries a failing webhook with backoff."""

from __future__ import annotations

import pytest
from django.db import transaction

from notifications.models import Delivery, NotificationPreference
from notifications.services import operation_notify
from operations.models import Operation
from tests.factories import TenantFactory
from tests.processes import WorkerProcess, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def notifying_worker(worker_env, mailbox, tmp_path):
    env = {
        **worker_env,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(mailbox.controller.port),
        "NOTIFY_RETRY_BASE_SECONDS": "0.5",
    }
    process = WorkerProcess(env, tmp_path / "worker.log")
    process.start()
    yield process
    process.stop()


def test_the_worker_mails_after_commit_and_retries_a_failing_webhook(
    notifying_worker, mailbox, teams_channel, support
):
    flaky = f"http://127.0.0.1:{teams_channel.port}/webhook/support?fail=2&status=503"
    NotificationPreference.objects.create(person=support, by_teams=True, teams_webhook_url=flaky)
    with transaction.atomic():
        operation = Operation.objects.create(
            tenant=TenantFactory(slug="acme"), subject_id="acme", subject_label="Acme",
            kind="restore_parallel", state="succeeded", requested_by=support, reason="drill",
            parameters={},
        )  # fmt: skip
        operation_notify(operation=operation)
        # Recorded with the state change; nothing is sent before the commit.
        assert Delivery.objects.filter(status=Delivery.Status.PENDING).count() == 2

    wait_for(lambda: mailbox.messages(), what="the e-mail", worker=notifying_worker)
    assert mailbox.messages()[0]["Subject"] == "Restore in parallel of Acme succeeded"
    teams = wait_for(
        lambda: Delivery.objects.filter(
            channel=Delivery.Channel.TEAMS, status=Delivery.Status.SENT
        ).first(),
        what="the Teams card after two failures",
        worker=notifying_worker,
    )
    assert teams.attempts == 3
    assert len(teams.failures) == 2
    assert len(teams_channel.posts()) == 1
