"""How children wake their parent. A wake-up that arrives while the operation is mid-visit (a
child freeing a restore slot while its parent is deciding who goes next) is kept: the visit in
progress looks again at once instead of after its Wait, because what woke it happened after that
visit read the database. A child that gave its slots back early wakes the parent then, and does
not wake it again on finishing when the parent's kind only hands out slots."""

from __future__ import annotations

import pytest

from operations.context import StepContext
from operations.engine import operation_execute, steps_create
from operations.kinds import OperationKind, Step, StepResult, Wait, registered
from operations.models import Operation
from operations.services import operation_request
from portal.roles import REQUEST_RESTORE
from tests.operations.test_waits_locks_and_children import pool, visit

pytestmark = pytest.mark.django_db

KIND = "test_woken_mid_visit"
LOOK_AGAIN = 60.0


def _supervise(context: StepContext) -> StepResult:
    if context.get("wake_mid_visit"):
        context.save(wake_mid_visit=False)
        # Another worker delivers a wake-up for this operation while this visit holds it.
        operation_execute(operation_id=context.operation.pk, enqueue=lambda pk, countdown: None)
    return Wait(LOOK_AGAIN, "Waiting for the children…")


@pytest.fixture
def woken_kind():
    kind = OperationKind(
        name=KIND,
        label="Woken mid-visit",
        permission=REQUEST_RESTORE,
        needs_approval=lambda: False,
        plan=lambda operation: [Step("children", "Supervise", _supervise)],
    )
    with registered(kind):
        yield


def _requested(support, enqueued, *, wake_mid_visit):
    operation = operation_request(
        kind=KIND,
        subject=pool(),
        requested_by=support,
        reason="drill",
        parameters={},
        enqueue=lambda pk, countdown: enqueued.append((pk, countdown)),
    )
    Operation.objects.filter(pk=operation.pk).update(checkpoint={"wake_mid_visit": wake_mid_visit})
    enqueued.clear()
    return operation


def test_a_wake_up_during_a_visit_makes_it_look_again_at_once(support, enqueued, woken_kind):
    operation = visit(_requested(support, enqueued, wake_mid_visit=True), enqueued)
    assert enqueued == [(operation.pk, 0.0)]
    assert operation.lease_id == "", "the worker let go"
    assert operation.state == Operation.State.RUNNING


def test_without_one_the_visit_waits_as_its_step_asked(support, enqueued, woken_kind):
    operation = visit(_requested(support, enqueued, wake_mid_visit=False), enqueued)
    assert enqueued == [(operation.pk, LOOK_AGAIN)]


def test_a_kept_wake_up_shortens_only_the_visit_it_arrived_during(support, enqueued, woken_kind):
    operation = visit(_requested(support, enqueued, wake_mid_visit=True), enqueued)
    enqueued.clear()
    visit(operation, enqueued)
    assert enqueued == [(operation.pk, LOOK_AGAIN)]


PARENT = "test_slot_parent"
CHILD = "test_slot_child"


def _give_back_early(context: StepContext) -> str:
    context.limits_release()
    return "Restored; setting the app up."


def _parent_and_child(support, *, woken_by_finishing_children: bool, gives_back_early: bool):
    parent_kind = OperationKind(
        name=PARENT,
        label="Slot parent",
        permission=REQUEST_RESTORE,
        needs_approval=lambda: False,
        plan=lambda operation: [Step("children", "Supervise", _supervise)],
        woken_by_finishing_children=woken_by_finishing_children,
    )
    step = _give_back_early if gives_back_early else (lambda context: "Done.")
    child_kind = OperationKind(
        name=CHILD,
        label="Slot child",
        permission=REQUEST_RESTORE,
        needs_approval=lambda: False,
        plan=lambda operation: [Step("work", "Work", step)],
    )
    parent = Operation.objects.create(
        kind=PARENT,
        subject_id="fleet",
        subject_label="the fleet",
        state=Operation.State.RUNNING,
        requested_by=support,
        reason="drill",
    )
    child = Operation.objects.create(
        kind=CHILD,
        subject_id="tenant",
        subject_label="a tenant",
        parent=parent,
        state=Operation.State.QUEUED,
        requested_by=support,
        reason="drill",
    )
    return parent_kind, child_kind, parent, child


@pytest.mark.parametrize(
    ("woken_by_finishing_children", "gives_back_early", "wake_ups"),
    [
        (False, True, 1),  # woken when the slot came back, not again on finishing
        (True, True, 2),  # a parent counting active children hears of the finish too
        (False, False, 1),  # the slot came back only on finishing: that wakes it
    ],
)
def test_a_child_wakes_its_parent_when_its_slots_come_back(
    support, enqueued, woken_by_finishing_children, gives_back_early, wake_ups
):
    parent_kind, child_kind, parent, child = _parent_and_child(
        support,
        woken_by_finishing_children=woken_by_finishing_children,
        gives_back_early=gives_back_early,
    )
    with registered(parent_kind, child_kind):
        steps_create(child)
        child = visit(child, enqueued)
    assert child.state == Operation.State.SUCCEEDED
    assert enqueued == [(parent.pk, 0.0)] * wake_ups
