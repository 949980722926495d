"""Runs an operation's steps under a lease, checkpointing after each, undoing on failure.

Crash safety: a run holds the operation's lease and renews it (the heartbeat) while it works.
A worker killed at any point leaves the lease to lapse; the sweep then enqueues the operation
again, and the new run resumes at the step that was running. Steps are idempotent, so the
resumed step finds what Azure already did (by the names chosen up front, kept in the
checkpoint) instead of doing it twice.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from operations.kinds import OperationKind, Step, kind_of
from operations.models import Operation, OperationStep
from portal.audit import audit_record
from portal.azure.errors import AzureOperationError, AzureTransientError

log = logging.getLogger(__name__)

Enqueue = Callable[[int, float], None]


class StepFailedError(Exception):
    """A step found a reason to stop that retrying will not fix."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class LeaseLostError(Exception):
    """Another run took the operation over (ours was presumed dead); stop without writing."""


class CancelledError(Exception):
    """The operation was cancelled while running."""


def lease_seconds() -> int:
    return int(settings.OPERATIONS_LEASE_SECONDS)


class StepContext:
    """What a step sees: the operation, its checkpoint, and the heartbeat."""

    def __init__(self, operation: Operation, step: OperationStep, run_id: str) -> None:
        self.operation = operation
        self.step = step
        self.run_id = run_id

    @property
    def tenant(self) -> Any:
        return self.operation.tenant

    def get(self, key: str, default: Any = None) -> Any:
        return self.operation.checkpoint.get(key, default)

    def save(self, **values: Any) -> None:
        """Record what this step learned or did, durably, before moving on."""
        self.operation.checkpoint = {**self.operation.checkpoint, **values}
        updated = Operation.objects.filter(pk=self.operation.pk, lease_id=self.run_id).update(
            checkpoint=self.operation.checkpoint, heartbeat_at=timezone.now()
        )
        if not updated:
            raise LeaseLostError

    def heartbeat(self, message: str | None = None) -> None:
        """Renew the lease (call at least every OPERATIONS_LEASE_SECONDS / 3 while waiting)."""
        updated = Operation.objects.filter(pk=self.operation.pk, lease_id=self.run_id).update(
            heartbeat_at=timezone.now()
        )
        if not updated:
            raise LeaseLostError
        if message is not None and message != self.step.message:
            self.step.message = message
            self.step.save(update_fields=["message"])

    def cancel_requested(self) -> bool:
        return Operation.objects.filter(
            pk=self.operation.pk, cancel_requested_at__isnull=False
        ).exists()


def steps_create(operation: Operation) -> None:
    """Write the operation's plan as pending steps (at request time, so people see the plan)."""
    kind = kind_of(operation.kind)
    OperationStep.objects.bulk_create(
        OperationStep(operation=operation, position=n, key=step.key, label=step.label)
        for n, step in enumerate(kind.plan(operation), start=1)
    )


def _acquire(operation_id: int, run_id: str) -> bool:
    stale = timezone.now() - timedelta(seconds=lease_seconds())
    return bool(
        Operation.objects.filter(
            pk=operation_id, state__in=(Operation.State.QUEUED, Operation.State.RUNNING)
        )
        .filter(Q(lease_id="") | Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True))
        .update(lease_id=run_id, heartbeat_at=timezone.now(), attempts=F("attempts") + 1)
    )


def _finish(operation: Operation, run_id: str, state: str, **fields: Any) -> None:
    now = timezone.now()
    updated = Operation.objects.filter(pk=operation.pk, lease_id=run_id).update(
        state=state, finished_at=now, lease_id="", **fields
    )
    if not updated:
        raise LeaseLostError
    operation.refresh_from_db()
    audit_record(
        action=f"operation.{state}",
        actor_name="worker",
        tenant=operation.tenant.slug,
        outcome="success" if state == Operation.State.SUCCEEDED else "failure",
        details={
            "operation": operation.pk,
            "kind": operation.kind,
            "error_code": operation.error_code,
            "error": operation.error_message,
            "outcome": operation.outcome,
        },
    )


def _release(operation: Operation, run_id: str) -> None:
    Operation.objects.filter(pk=operation.pk, lease_id=run_id).update(lease_id="")


def _mark(step: OperationStep, state: str, message: str | None = None) -> None:
    now = timezone.now()
    step.state = state
    if state == OperationStep.State.RUNNING and step.started_at is None:
        step.started_at = now
    if state != OperationStep.State.RUNNING:
        step.finished_at = now
    if message is not None:
        step.message = message[:4000]
    step.save(update_fields=["state", "started_at", "finished_at", "message"])


def _transient_delay(attempts: int) -> float:
    # Exponential backoff with jitter, capped: throttling and short outages pass by themselves.
    base = float(min(300, 5 * 2 ** min(attempts, 6)))
    return base / 2 + random.uniform(0, base / 2)  # noqa: S311 - jitter, not security


def operation_execute(*, operation_id: int, enqueue: Enqueue) -> None:
    """Run (or resume) an operation. Safe to call any number of times for the same id."""
    operation = Operation.objects.select_related("tenant").filter(pk=operation_id).first()
    if (
        operation is None
        or operation.is_finished
        or operation.state == Operation.State.AWAITING_APPROVAL
    ):
        return
    kind = kind_of(operation.kind)
    if operation.state == Operation.State.QUEUED:
        wait_reason = kind.admit(operation)
        if wait_reason:
            Operation.objects.filter(pk=operation.pk).update(outcome=f"Waiting: {wait_reason}")
            enqueue(operation.pk, float(settings.OPERATIONS_ADMISSION_RETRY_SECONDS))
            return
    run_id = uuid.uuid4().hex
    if not _acquire(operation.pk, run_id):
        log.info("operation %s is held by a live run; leaving it", operation.pk)
        return
    operation.refresh_from_db()
    if operation.attempts > settings.OPERATIONS_MAX_ATTEMPTS:
        row = operation.steps.exclude(
            state__in=(OperationStep.State.SUCCEEDED, OperationStep.State.SKIPPED)
        ).first()
        if row is not None:
            plan = {step.key: step for step in kind.plan(operation)}
            done = [
                (r, plan[r.key])
                for r in operation.steps.filter(state=OperationStep.State.SUCCEEDED)
            ]
            _fail(
                operation,
                kind,
                row,
                run_id,
                done,
                f"Gave up after {operation.attempts - 1} attempts.",
                "TooManyAttempts",
            )
            return
    if operation.state == Operation.State.QUEUED:
        Operation.objects.filter(pk=operation.pk).update(
            state=Operation.State.RUNNING, started_at=timezone.now(), outcome=""
        )
        operation.refresh_from_db()
        audit_record(
            action="operation.running",
            actor_name="worker",
            tenant=operation.tenant.slug,
            details={"operation": operation.pk, "kind": operation.kind},
        )
    try:
        _run_steps(operation, kind, run_id, enqueue)
    except LeaseLostError:
        log.warning("operation %s: lease lost; another run continues it", operation.pk)
    except BaseException:
        # Interrupted (time limit, shutdown) or a bug: let the next run start at once instead of
        # waiting for the lease to lapse. OPERATIONS_MAX_ATTEMPTS bounds the retries.
        _release(operation, run_id)
        raise


def _run_steps(operation: Operation, kind: OperationKind, run_id: str, enqueue: Enqueue) -> None:
    plan = {step.key: step for step in kind.plan(operation)}
    rows = list(operation.steps.order_by("position"))
    done: list[tuple[OperationStep, Step]] = [
        (row, plan[row.key]) for row in rows if row.state == OperationStep.State.SUCCEEDED
    ]
    for row in rows:
        if row.state in (OperationStep.State.SUCCEEDED, OperationStep.State.SKIPPED):
            continue
        spec = plan[row.key]
        context = StepContext(operation, row, run_id)
        try:
            if context.cancel_requested():
                raise CancelledError
            _mark(row, OperationStep.State.RUNNING)
            context.heartbeat()
            message = spec.run(context)
        except CancelledError:
            _cancel(operation, kind, row, run_id, done)
            return
        except AzureTransientError as exc:
            if operation.attempts >= settings.OPERATIONS_MAX_ATTEMPTS:
                _fail(operation, kind, row, run_id, done, str(exc), exc.code)
                return
            delay = _transient_delay(operation.attempts)
            context.heartbeat(f"Azure is busy or unreachable ({exc}); retrying in {delay:.0f} s.")
            _release(operation, run_id)
            enqueue(operation.pk, delay)
            return
        except (AzureOperationError, StepFailedError) as exc:
            _fail(operation, kind, row, run_id, done, exc.message, exc.code)
            return
        _mark(row, OperationStep.State.SUCCEEDED, message)
        done.append((row, spec))
    _finish(operation, run_id, Operation.State.SUCCEEDED, outcome="")


def _undo(operation: Operation, run_id: str, done: list[tuple[OperationStep, Step]]) -> list[str]:
    """Undo completed steps, newest first. Returns the problems (empty when all undone)."""
    problems: list[str] = []
    for row, spec in reversed(done):
        if spec.undo is None:
            continue
        context = StepContext(operation, row, run_id)
        try:
            message = spec.undo(context)
        except (AzureOperationError, AzureTransientError, StepFailedError) as exc:
            problems.append(f"could not undo “{row.label}”: {exc}")
            _mark(row, OperationStep.State.FAILED, f"Undo failed: {exc}")
            continue
        _mark(row, OperationStep.State.UNDONE, message)
    return problems


def _fail(
    operation: Operation,
    kind: OperationKind,
    row: OperationStep,
    run_id: str,
    done: list[tuple[OperationStep, Step]],
    message: str,
    code: str,
) -> None:
    _mark(row, OperationStep.State.FAILED, message)
    needs_undo = any(spec.undo for _, spec in done)
    problems = _undo(operation, run_id, done) if needs_undo else []
    if problems:
        outcome = "ROLLBACK INCOMPLETE — manual action needed: " + "; ".join(problems)
    elif needs_undo:
        outcome = "Rolled back: " + str(
            operation.checkpoint.get("rolled_back_outcome", kind.untouched_outcome)
        )
    else:
        outcome = str(operation.checkpoint.get("failure_outcome", kind.untouched_outcome))
    _skip_pending(operation)
    _finish(
        operation,
        run_id,
        Operation.State.FAILED,
        error_code=code[:100],
        error_message=message,
        outcome=outcome,
    )


def _cancel(
    operation: Operation,
    kind: OperationKind,
    row: OperationStep,
    run_id: str,
    done: list[tuple[OperationStep, Step]],
) -> None:
    context = StepContext(operation, row, run_id)
    notes = [kind.cancel_running(context)] if kind.cancel_running else []
    problems = _undo(operation, run_id, done)
    _mark(row, OperationStep.State.SKIPPED, "Cancelled.")
    _skip_pending(operation)
    notes += problems
    _finish(
        operation,
        run_id,
        Operation.State.CANCELLED,
        outcome=" ".join(notes) if notes else kind.untouched_outcome,
    )


def _skip_pending(operation: Operation) -> None:
    operation.steps.filter(state=OperationStep.State.PENDING).update(
        state=OperationStep.State.SKIPPED
    )


def operation_start_now(operation: Operation, enqueue: Enqueue) -> None:
    """Enqueue after the surrounding transaction commits (the worker must see the row). If the
    broker is unreachable the operation stays queued and the sweep enqueues it later."""
    operation_id = operation.pk

    def enqueue_or_leave_to_sweep() -> None:
        try:
            enqueue(operation_id, 0.0)
        except Exception:
            log.exception("operation %s could not be enqueued; the sweep will retry", operation_id)

    transaction.on_commit(enqueue_or_leave_to_sweep)
