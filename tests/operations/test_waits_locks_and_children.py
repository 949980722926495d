"""The second edition's rules, in process: waiting without a worker, unexpected errors, locks
across subjects, admission slots, parents and children with pause, resume and cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from operations.engine import operation_execute
from operations.fleet import children_counts
from operations.kinds import OperationKind, Step, Subject, registered
from operations.models import AdmissionSlot, Operation, OperationLock
from operations.services import (
    OperationRefusedError,
    can_pause,
    operation_approve,
    operation_cancel,
    operation_pause,
    operation_request,
    operation_resume,
    operations_sweep,
)
from portal.models import AuditEvent
from portal.roles import REQUEST_RESTORE
from tests.factories import UserFactory
from tests.operations.kinds_for_tests import FleetParameters, WaitParameters

pytestmark = pytest.mark.django_db

POOL = (
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/sql-1/elasticPools/pool-01"
)


def pool(pool_id: str = POOL) -> Subject:
    return Subject(Operation.Subject.ELASTIC_POOL, pool_id, pool_id.rsplit("/", 1)[-1])


def requested(by, enqueued, kind, parameters, subject):
    return operation_request(
        kind=kind,
        subject=subject,
        requested_by=by,
        reason="drill",
        parameters=parameters,
        enqueue=lambda pk, countdown: enqueued.append((pk, countdown)),
    )


def visit(operation, enqueued):
    operation_execute(
        operation_id=operation.pk, enqueue=lambda pk, countdown: enqueued.append((pk, countdown))
    )
    operation.refresh_from_db()
    return operation


def test_a_waiting_step_frees_the_worker_and_is_not_an_attempt(support, enqueued, engine_kinds):
    operation = requested(
        support, enqueued, "test_wait", WaitParameters(seconds=60, look_again=7), pool()
    )
    enqueued.clear()
    operation = visit(operation, enqueued)
    step = operation.steps.get()
    assert (operation.state, step.state) == ("running", "running")
    assert step.message == "Azure is working… 0 s so far."
    assert operation.lease_id == "", "the worker let go"
    assert operation.attempts == 0
    assert enqueued == [(operation.pk, 7.0)]
    assert operation.next_visit_at > timezone.now() + timedelta(seconds=5)


def test_the_sweep_leaves_a_waiting_operation_alone_until_its_visit_is_long_overdue(
    support, enqueued, engine_kinds, settings
):
    operation = requested(
        support, enqueued, "test_wait", WaitParameters(seconds=600, look_again=60), pool()
    )
    operation = visit(operation, enqueued)
    # Its heartbeat is old by now, but it is waiting, not dead.
    Operation.objects.filter(pk=operation.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.OPERATIONS_LEASE_SECONDS * 3)
    )
    revived: list[int] = []
    assert operations_sweep(enqueue=lambda pk, c: revived.append(pk))["revived"] == 0
    Operation.objects.filter(pk=operation.pk).update(
        next_visit_at=timezone.now() - timedelta(seconds=settings.OPERATIONS_LEASE_SECONDS + 1)
    )
    assert operations_sweep(enqueue=lambda pk, c: revived.append(pk))["revived"] == 1
    assert revived == [operation.pk]


def _boom(context):
    raise KeyError("target_name")


def test_an_unexpected_exception_is_recorded_and_fails_the_operation_when_it_repeats(
    support, enqueued
):
    kind = OperationKind(
        name="test_boom",
        label="Boom",
        permission=REQUEST_RESTORE,
        needs_approval=lambda: False,
        plan=lambda operation: [Step("boom", "Explode", _boom)],
    )
    with registered(kind):
        operation = requested(support, enqueued, "test_boom", {}, pool())
        operation = visit(operation, enqueued)
        step = operation.steps.get()
        assert operation.state == "running", "the first time it is tried once more"
        assert (step.error_type, step.error_message) == ("KeyError", "'target_name'")
        assert operation.last_unexpected_error == "KeyError: 'target_name'"
        assert "trying once more" in step.message

        operation = visit(operation, enqueued)
        assert operation.state == "failed"
        assert operation.error_code == "KeyError"
        assert "twice in a row: KeyError: 'target_name'" in operation.error_message
        assert not operation.locks.exists()
    failed = AuditEvent.objects.get(action="operation.failed")
    assert failed.details["error_code"] == "KeyError"
    assert failed.details["subject"] == f"elastic_pool:{POOL}"


def test_a_pool_scale_and_a_restore_into_the_pool_never_run_together(
    support, enqueued, engine_kinds
):
    restore = requested(
        support,
        enqueued,
        "test_restore_like",
        WaitParameters(seconds=60, pool_id=POOL),
        Subject(Operation.Subject.TENANT, "acme", "Acme"),
    )
    scale = requested(support, enqueued, "test_pool_scale", WaitParameters(pool_id=POOL), pool())
    assert visit(restore, enqueued).state == "running"
    scale = visit(scale, enqueued)
    assert scale.state == "queued"
    assert scale.outcome.startswith("Waiting: 4 restores into this elastic pool already run")

    Operation.objects.filter(pk=restore.pk).update(state="succeeded")
    AdmissionSlot.objects.filter(operation=restore).delete()
    OperationLock.objects.filter(operation=restore).delete()
    assert visit(scale, enqueued).state == "running"
    assert AdmissionSlot.objects.filter(operation=scale).count() == 4, "the scale holds them all"

    second = requested(
        support,
        enqueued,
        "test_restore_like",
        WaitParameters(pool_id=POOL),
        Subject(Operation.Subject.TENANT, "globex", "Globex"),
    )
    assert visit(second, enqueued).state == "queued"


def test_a_second_operation_on_a_locked_pool_is_refused_naming_the_holder(
    support, enqueued, engine_kinds
):
    first = requested(support, enqueued, "test_pool_scale", WaitParameters(pool_id=POOL), pool())
    with pytest.raises(OperationRefusedError) as refused:
        requested(support, enqueued, "test_pool_scale", WaitParameters(pool_id=POOL), pool())
    assert str(refused.value) == (
        f"pool-01 already has an operation in progress (#{first.pk}, queued); "
        "wait for it to finish or cancel it first."
    )
    assert Operation.objects.count() == 1


POOLS = [f"{POOL[:-2]}{n:02d}" for n in range(1, 6)]


@pytest.fixture
def fleet(support, admin_user, enqueued, engine_kinds):
    parent = requested(
        admin_user,
        enqueued,
        "test_fleet",
        FleetParameters(pools=POOLS, seconds=60, max_running=2),
        Subject(Operation.Subject.FLEET, "fleet", "the fleet"),
    )
    second = UserFactory(username="blake.admin@fleetwise.example", groups=["Admins"])
    operation_approve(operation=parent, approver=second, enqueue=lambda pk, c: None)
    return visit(parent, enqueued)


def test_a_parent_starts_children_two_at_a_time_under_its_approval(fleet, enqueued):
    children = list(fleet.children.order_by("id"))
    assert [c.subject_id for c in children] == POOLS[:2]
    assert {c.state for c in children} == {"queued"}
    assert all(c.approved_by_id == fleet.approved_by_id for c in children)
    counts = children_counts(fleet)
    assert (counts.planned, counts.running, counts.waiting, counts.finished) == (5, 0, 5, 0)
    assert fleet.steps.get().message == "0 of 5 finished, 0 running, 5 waiting to start."

    for child in children:
        visit(child, enqueued)
        Operation.objects.filter(pk=child.pk).update(state="succeeded", finished_at=timezone.now())
        OperationLock.objects.filter(operation=child).delete()
        AdmissionSlot.objects.filter(operation=child).delete()
    fleet = visit(fleet, enqueued)
    assert fleet.children.count() == 4
    counts = children_counts(fleet)
    assert (counts.finished, counts.waiting) == (2, 3)
    assert counts.projected_remaining is not None


def test_a_finished_parents_elapsed_time_stops_at_its_finish(fleet):
    started = timezone.now() - timedelta(hours=2)
    Operation.objects.filter(pk=fleet.pk).update(
        state="succeeded", started_at=started, finished_at=started + timedelta(seconds=98)
    )
    fleet.refresh_from_db()
    assert children_counts(fleet).elapsed == timedelta(seconds=98)


def test_a_paused_parent_is_not_visited_until_resumed(fleet, admin_user, enqueued):
    assert can_pause(admin_user, fleet)
    operation_pause(operation=fleet, by=admin_user)
    Operation.objects.filter(parent=fleet).update(state="succeeded")
    OperationLock.objects.filter(operation__parent=fleet).delete()
    fleet = visit(fleet, enqueued)
    assert fleet.children.count() == 2, "paused: no more children started"

    resumed: list[int] = []
    operation_resume(operation=fleet, by=admin_user, enqueue=lambda pk, c: resumed.append(pk))
    fleet = visit(fleet, enqueued)
    assert fleet.children.count() == 4
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"operation.paused", "operation.resumed"} <= actions


def test_cancelling_a_parent_cancels_its_queued_children(fleet, admin_user, enqueued):
    first, second = fleet.children.order_by("id")
    visit(first, enqueued)  # running, waiting on Azure
    operation_cancel(operation=fleet, by=admin_user)
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.state == "cancelled"
    assert not second.locks.exists()
    assert first.state == "running" and first.cancel_requested_at is not None
    first = visit(first, enqueued)
    assert first.state == "cancelled"
    fleet = visit(fleet, enqueued)
    assert fleet.state == "cancelled"
    assert fleet.children.count() == 2, "no child started after the cancel"


def test_a_restore_cannot_be_paused(support, enqueued, engine_kinds):
    operation = requested(support, enqueued, "test_wait", WaitParameters(), pool())
    assert not can_pause(support, operation)
    with pytest.raises(OperationRefusedError, match="cannot be paused"):
        operation_pause(operation=operation, by=support)
