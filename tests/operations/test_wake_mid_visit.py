"""A wake-up that arrives while the operation is mid-visit (a child freeing a restore slot while
its parent is deciding who goes next) is kept: the visit in progress looks again at once instead
of after its Wait, because what woke it happened after that visit read the database."""

from __future__ import annotations

import pytest

from operations.context import StepContext
from operations.engine import operation_execute
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
