"""The operations engine with a kind made for the test: order, resume, undo, retry, cancel."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone

from operations import engine
from operations.engine import StepFailedError, operation_execute
from operations.kinds import Limit, OperationKind, Step, registered
from operations.models import AdmissionSlot, Operation, OperationStep
from operations.services import OperationRefusedError, operation_request
from portal.audit import audit_verify_chain
from portal.azure.errors import AzureTransientError
from portal.models import AuditEvent
from portal.roles import REQUEST_RESTORE
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

CALLS: list[str] = []


@dataclass(frozen=True)
class FlowParameters:
    fail: dict[str, str] = field(default_factory=dict)
    # Room for this many test flows at once (0: no limit).
    capacity: int = 0


def _step(name: str):
    def run(context):
        CALLS.append(name)
        behaviour = context.parameters(FlowParameters).fail.get(name)
        if behaviour == "permanent":
            raise StepFailedError(f"{name} broke", code="Broken")
        if behaviour == "transient":
            raise AzureTransientError("throttled", code="TooManyRequests", status=429)
        context.save(**{f"did_{name}": True})
        return f"{name} done"

    return run


def _undo(name: str):
    def undo(context):
        CALLS.append(f"undo {name}")
        if context.parameters(FlowParameters).fail.get(f"undo {name}") == "permanent":
            raise StepFailedError(f"undo {name} broke")
        return f"{name} undone"

    return undo


def _limits(parameters: FlowParameters) -> list[Limit]:
    return [Limit("test:pool", parameters.capacity, "test flows")] if parameters.capacity else []


@pytest.fixture(autouse=True)
def test_kind():
    CALLS.clear()
    kind = OperationKind(
        name="test_flow",
        label="Test flow",
        permission=REQUEST_RESTORE,
        needs_approval=lambda: False,
        plan=lambda operation: [
            Step("a", "Step A", _step("a")),
            Step("b", "Step B", _step("b"), undo=_undo("b")),
            Step("c", "Step C", _step("c"), undo=_undo("c"), cancellable=False),
            Step("d", "Step D", _step("d")),
        ],
        parameters=FlowParameters,
        limits=_limits,
        untouched_outcome="Nothing was changed.",
    )
    with registered(kind):
        yield kind


def request(support, enqueued, *, slug="acme", **parameters):
    return operation_request(
        kind="test_flow",
        tenant=TenantFactory(slug=slug),
        requested_by=support,
        reason="test",
        parameters=FlowParameters(**parameters),
        enqueue=lambda pk, countdown: enqueued.append((pk, countdown)),
    )


def run(operation, enqueued):
    operation_execute(
        operation_id=operation.pk, enqueue=lambda pk, countdown: enqueued.append((pk, countdown))
    )
    operation.refresh_from_db()
    return operation


def states(operation):
    return [step.state for step in operation.steps.order_by("position")]


def test_steps_run_in_order_and_the_operation_succeeds(
    support, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        operation = request(support, enqueued)
    assert enqueued == [(operation.pk, 0.0)]
    operation = run(operation, enqueued)
    assert CALLS == ["a", "b", "c", "d"]
    assert operation.state == "succeeded"
    assert states(operation) == ["succeeded"] * 4
    assert operation.checkpoint == {"did_a": True, "did_b": True, "did_c": True, "did_d": True}
    assert operation.lease_id == ""
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["operation.requested", "operation.running", "operation.succeeded"]
    assert audit_verify_chain().intact


def test_a_run_killed_mid_step_resumes_at_that_step_once_the_lease_lapses(
    support, enqueued, settings
):
    operation = request(support, enqueued)
    # What a killed worker leaves: step a done, step b running, lease held, heartbeat fresh.
    Operation.objects.filter(pk=operation.pk).update(
        state="running",
        lease_id="dead-worker",
        heartbeat_at=timezone.now(),
        checkpoint={"did_a": True},
    )
    operation.steps.filter(key="a").update(state="succeeded")
    operation.steps.filter(key="b").update(state="running")

    operation = run(operation, enqueued)
    assert CALLS == [], "a live-looking lease must not be taken over"

    Operation.objects.filter(pk=operation.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.OPERATIONS_LEASE_SECONDS + 1)
    )
    operation = run(operation, enqueued)
    assert CALLS == ["b", "c", "d"]
    assert operation.state == "succeeded"


def test_a_permanent_failure_undoes_the_completed_steps_newest_first(support, enqueued):
    operation = run(request(support, enqueued, fail={"d": "permanent"}), enqueued)
    assert CALLS == ["a", "b", "c", "d", "undo c", "undo b"]
    assert operation.state == "failed"
    assert (operation.error_code, operation.error_message) == ("Broken", "d broke")
    assert operation.outcome.startswith("Rolled back")
    assert states(operation) == ["succeeded", "undone", "undone", "failed"]


def test_a_failed_undo_is_reported_as_needing_manual_action(support, enqueued):
    operation = run(
        request(support, enqueued, fail={"d": "permanent", "undo c": "permanent"}), enqueued
    )
    assert CALLS == ["a", "b", "c", "d", "undo c", "undo b"]
    assert operation.outcome.startswith("ROLLBACK INCOMPLETE")
    assert "undo c broke" in operation.outcome


def test_a_failure_before_anything_undoable_says_nothing_changed(support, enqueued):
    operation = run(request(support, enqueued, fail={"a": "permanent"}), enqueued)
    assert operation.state == "failed"
    assert operation.outcome == "Nothing was changed."
    assert states(operation) == ["failed", "skipped", "skipped", "skipped"]


def test_a_transient_error_releases_the_lease_and_retries_later(support, enqueued):
    operation = run(request(support, enqueued, fail={"b": "transient"}), enqueued)
    assert operation.state == "running"
    assert operation.lease_id == ""
    assert len(enqueued) == 1 and enqueued[0][0] == operation.pk and enqueued[0][1] > 0
    assert "retrying" in operation.steps.get(key="b").message


def test_transient_errors_give_up_after_the_attempt_cap(support, enqueued, settings):
    settings.OPERATIONS_MAX_ATTEMPTS = 2
    operation = request(support, enqueued, fail={"b": "transient"})
    for _ in range(3):
        operation = run(operation, enqueued)
    assert operation.state == "failed"
    assert (
        operation.outcome.startswith("Rolled back") or operation.outcome == "Nothing was changed."
    )


def test_an_operation_waits_while_its_limit_is_full_and_starts_once_a_slot_frees(
    support, enqueued, settings
):
    holder = request(support, enqueued, slug="other", capacity=1)
    AdmissionSlot.objects.create(key="test:pool", slot=0, operation=holder)
    operation = run(request(support, enqueued, capacity=1), enqueued)
    assert operation.state == "queued"
    assert CALLS == []
    assert operation.outcome == "Waiting: 1 test flows already run; it starts when one finishes."
    assert enqueued == [(operation.pk, float(settings.OPERATIONS_ADMISSION_RETRY_SECONDS))]
    assert operation.attempts == 0, "waiting for a slot is not an attempt"
    assert operation.next_visit_at is not None and operation.lease_id == ""

    AdmissionSlot.objects.filter(operation=holder).delete()
    operation = run(operation, enqueued)
    assert operation.state == "succeeded"
    assert not AdmissionSlot.objects.exists(), "a finished operation gives its slot back"


def test_only_one_active_operation_per_tenant(support, enqueued):
    request(support, enqueued)
    with pytest.raises(OperationRefusedError, match="already has an operation in progress"):
        request(support, enqueued)
    assert Operation.objects.count() == 1


def test_the_database_refuses_a_second_holder_of_a_lock_even_without_the_service(support, enqueued):
    from django.db import IntegrityError, transaction

    from operations.models import OperationLock

    first = request(support, enqueued)
    assert list(OperationLock.objects.values_list("key", flat=True)) == ["tenant:acme"]
    second = Operation.objects.create(
        tenant=first.tenant, kind="test_flow", state="queued", requested_by=support, reason="x"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        OperationLock.objects.create(key="tenant:acme", operation=second)


def test_a_finished_operation_releases_its_lock_so_the_next_can_be_requested(support, enqueued):
    first = run(request(support, enqueued), enqueued)
    assert first.state == "succeeded"
    assert not first.locks.exists()
    second = operation_request(
        kind="test_flow",
        tenant=first.tenant,
        requested_by=support,
        reason="again",
        parameters=FlowParameters(),
        enqueue=lambda pk, countdown: None,
    )
    assert second.locks.get().key == "tenant:acme"


def test_cancelling_between_steps_stops_and_undoes(support, enqueued, monkeypatch):
    operation = request(support, enqueued)
    original = engine.StepContext.cancel_requested
    monkeypatch.setattr(
        engine.StepContext, "cancel_requested", lambda self: self.step.key == "c" or original(self)
    )
    operation = run(operation, enqueued)
    assert operation.state == "cancelled"
    assert CALLS == ["a", "b", "undo b"]
    assert states(operation) == ["succeeded", "undone", "skipped", "skipped"]


def test_engine_leaves_finished_and_unknown_operations_alone(support, enqueued):
    operation = run(request(support, enqueued), enqueued)
    CALLS.clear()
    run(operation, enqueued)
    operation_execute(operation_id=999999, enqueue=lambda *a: None)
    assert CALLS == []
    assert OperationStep.objects.filter(operation=operation, state="succeeded").count() == 4
