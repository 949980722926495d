"""The operations engine tells people at its two call sites: a request that needs approval,
and every finish (succeeded, failed, cancelled, approval expired)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Delivery, Event
from operations.kinds import OperationKind, Step, registered
from operations.models import Operation
from operations.services import operation_cancel, operation_request, operations_sweep
from portal import roles
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def guarded_kind():
    kind = OperationKind(
        name="test_guarded",
        label="Guarded change",
        permission=roles.REQUEST_RESTORE,
        needs_approval=lambda: True,
        plan=lambda operation: [Step("one", "One", lambda context: "ok")],
    )
    with registered(kind):
        yield kind


@pytest.fixture
def no_enqueue(monkeypatch):
    monkeypatch.setattr("notifications.services.enqueue_delivery", lambda pk, countdown: None)


def request_in_place(support, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return operation_request(
            kind="test_guarded",
            tenant=TenantFactory(slug="acme"),
            requested_by=support,
            reason="INC-42",
            parameters={},
        )


def test_approvers_are_told_when_a_request_needs_approval_and_the_requester_when_it_is_cancelled(
    support, admin_user, no_enqueue, django_capture_on_commit_callbacks
):
    operation = request_in_place(support, django_capture_on_commit_callbacks)
    asked = Delivery.objects.get(event=Event.APPROVAL_NEEDED)
    assert list(asked.recipients.all()) == [admin_user]

    operation_cancel(operation=operation, by=support)
    told = Delivery.objects.get(event=Event.OPERATION_CANCELLED)
    assert list(told.recipients.all()) == [support]


def test_the_requester_is_told_when_an_approval_lapses(
    support, admin_user, no_enqueue, django_capture_on_commit_callbacks
):
    operation = request_in_place(support, django_capture_on_commit_callbacks)
    Operation.objects.filter(pk=operation.pk).update(
        approval_expires_at=timezone.now() - timedelta(minutes=1)
    )
    operations_sweep()

    told = Delivery.objects.get(event=Event.OPERATION_CANCELLED)
    assert told.target == support.email
    assert "Approval expired" in str(told.facts)
