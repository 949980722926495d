"""Approvals, cancellation and the sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from operations.kinds import OperationKind, Step, registered
from operations.models import Operation
from operations.services import (
    OperationRefusedError,
    operation_approve,
    operation_cancel,
    operation_request,
    operations_sweep,
)
from portal import roles
from portal.models import AuditEvent
from tests.factories import TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def guarded_kind():
    kind = OperationKind(
        name="test_approved",
        label="Guarded change",
        permission=roles.REQUEST_RESTORE,
        needs_approval=lambda: True,
        plan=lambda operation: [
            Step("one", "One", lambda context: "ok"),
            Step("two", "Two", lambda context: "ok", cancellable=False),
        ],
    )
    with registered(kind):
        yield kind


@pytest.fixture
def approved_kind():
    """The operations enqueued (the services take the enqueue function as a parameter)."""
    return []


def requested(by):
    return operation_request(
        kind="test_approved",
        tenant=TenantFactory(slug="acme"),
        requested_by=by,
        reason="ticket 42",
        parameters={},
    )


def test_a_guarded_operation_waits_for_approval_with_an_expiry(support, settings):
    operation = requested(support)
    assert operation.state == "awaiting_approval"
    expected = operation.created_at + timedelta(minutes=settings.OPERATIONS_APPROVAL_TTL_MINUTES)
    assert abs(operation.approval_expires_at - expected) < timedelta(seconds=5)


def test_a_second_person_with_the_permission_approves_and_it_is_queued(
    support, admin_user, approved_kind, django_capture_on_commit_callbacks
):
    operation = requested(support)
    with django_capture_on_commit_callbacks(execute=True):
        operation_approve(
            operation=operation,
            approver=admin_user,
            enqueue=lambda pk, countdown: approved_kind.append(pk),
        )
    operation.refresh_from_db()
    assert (operation.state, operation.approved_by) == ("queued", admin_user)
    assert approved_kind == [operation.pk]
    assert AuditEvent.objects.filter(
        action="operation.approved", actor=admin_user.username
    ).exists()


def test_the_requester_cannot_approve_their_own_operation(admin_user):
    operation = requested(admin_user)
    with pytest.raises(OperationRefusedError, match="cannot approve it; a second person must"):
        operation_approve(operation=operation, approver=admin_user)
    operation.refresh_from_db()
    assert operation.state == "awaiting_approval"
    assert AuditEvent.objects.get(action="operation.approve").outcome == "denied"


def test_someone_without_the_approve_permission_cannot_approve(support):
    operation = requested(support)
    other_support = UserFactory(username="second.support@fleetwise.example", groups=[roles.SUPPORT])
    with pytest.raises(OperationRefusedError, match="permission to approve"):
        operation_approve(operation=operation, approver=other_support)


def test_an_expired_approval_is_refused_and_the_sweep_cancels_it(support, admin_user):
    operation = requested(support)
    Operation.objects.filter(pk=operation.pk).update(
        approval_expires_at=timezone.now() - timedelta(seconds=1)
    )
    operation.refresh_from_db()
    with pytest.raises(OperationRefusedError, match="approval window has passed"):
        operation_approve(operation=operation, approver=admin_user)
    assert operations_sweep() == {"revived": 0, "expired": 1}
    operation.refresh_from_db()
    assert operation.state == "cancelled"
    assert "nothing was changed" in operation.outcome


def test_an_account_manager_cannot_request(account_manager):
    with pytest.raises(OperationRefusedError, match="do not have permission"):
        requested(account_manager)
    assert not Operation.objects.exists()


def test_a_reason_is_required(support):
    with pytest.raises(OperationRefusedError, match="reason is required"):
        operation_request(
            kind="test_approved",
            tenant=TenantFactory(slug="acme"),
            requested_by=support,
            reason=" ",
            parameters={},
        )


def test_cancel_before_it_starts_finishes_it_at_once(support):
    operation = requested(support)
    operation_cancel(operation=operation, by=support)
    operation.refresh_from_db()
    assert operation.state == "cancelled"
    assert [s.state for s in operation.steps.all()] == ["skipped", "skipped"]


def test_only_the_requester_or_an_approver_can_cancel(support, account_manager):
    operation = requested(support)
    with pytest.raises(OperationRefusedError, match="Only the requester or an approver"):
        operation_cancel(operation=operation, by=account_manager)


def test_a_running_operation_cannot_be_cancelled_during_a_step_that_must_not_be_interrupted(
    support,
):
    operation = requested(support)
    Operation.objects.filter(pk=operation.pk).update(state="running")
    operation.steps.filter(key="one").update(state="succeeded")
    operation.steps.filter(key="two").update(state="running")
    operation.refresh_from_db()
    with pytest.raises(OperationRefusedError, match="cannot be interrupted safely"):
        operation_cancel(operation=operation, by=support)


def test_a_running_operation_is_asked_to_stop(support):
    operation = requested(support)
    Operation.objects.filter(pk=operation.pk).update(state="running")
    operation.steps.filter(key="one").update(state="running")
    operation.refresh_from_db()
    operation_cancel(operation=operation, by=support)
    operation.refresh_from_db()
    assert operation.state == "running"
    assert operation.cancel_requested_at is not None


def test_the_sweep_re_enqueues_operations_whose_worker_went_silent(
    support, approved_kind, settings
):
    operation = requested(support)
    Operation.objects.filter(pk=operation.pk).update(
        state="running",
        lease_id="gone",
        heartbeat_at=timezone.now() - timedelta(seconds=settings.OPERATIONS_LEASE_SECONDS + 5),
    )
    assert operations_sweep(enqueue=lambda pk, countdown: approved_kind.append(pk))["revived"] == 1
    assert approved_kind == [operation.pk]


def test_an_operation_whose_enqueue_was_lost_is_picked_up_by_the_sweep(
    support, admin_user, approved_kind, settings, django_capture_on_commit_callbacks
):
    def broker_down(pk, countdown):
        raise ConnectionError("redis unreachable")

    operation = requested(support)
    with django_capture_on_commit_callbacks(execute=True):
        operation_approve(operation=operation, approver=admin_user, enqueue=broker_down)
    operation.refresh_from_db()
    assert operation.state == "queued"

    def enqueue(pk, countdown):
        approved_kind.append(pk)

    assert operations_sweep(enqueue=enqueue)["revived"] == 0  # too recent: may be on its way
    old = timezone.now() - timedelta(seconds=settings.OPERATIONS_LEASE_SECONDS + 5)
    Operation.objects.filter(pk=operation.pk).update(created_at=old, approved_at=old)
    assert operations_sweep(enqueue=enqueue)["revived"] == 1
    assert approved_kind == [operation.pk]
