"""Runs an operation's steps under a lease, checkpointing after each, undoing on failure.

Crash safety: a run holds the operation's lease and renews it (the heartbeat) while it works.
A worker killed at any point leaves the lease to lapse; the sweep then enqueues the operation
again, and the new run resumes at the step that was running. Steps are idempotent, so the
resumed step finds what Azure already did (by the names chosen up front, kept in the
parameters and the checkpoint) instead of doing it twice.

Waiting: a step that finds Azure not done returns `Wait(seconds, message)`; the run records the
message, releases the lease and enqueues the next visit with a countdown, so a worker is held
only for the moments a step actually works. Every change of the operation's state is written
with its audit event (and its locks' release) in one transaction.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from operations.claims import claims_release, slots_take
from operations.context import (
    SLOTS_RELEASED,
    CancelledError,
    LeaseLostError,
    StepContext,
    StepFailedError,
)
from operations.kinds import OperationKind, Step, Wait, kind_of
from operations.models import Operation, OperationStep
from operations.signals import operation_finished
from portal.audit import audit_record
from portal.azure.errors import AzureOperationError, AzureTransientError
from portal.log_context import operation_context

__all__ = [
    "CancelledError",
    "Enqueue",
    "LeaseLostError",
    "StepContext",
    "StepFailedError",
    "operation_execute",
]

log = logging.getLogger(__name__)

Enqueue = Callable[[int, float], None]


def lease_seconds() -> int:
    return int(settings.OPERATIONS_LEASE_SECONDS)


def operation_audit(
    operation: Operation, action: str, *, actor: Any = None, actor_name: str = "", **details: Any
) -> None:
    """The audit event of a state change, naming the subject whatever the kind."""
    outcome = details.pop("outcome_", "success")
    audit_record(
        action=action,
        actor=actor,
        actor_name=actor_name,
        tenant=operation.tenant.slug if operation.tenant_id and operation.tenant else "",
        outcome=outcome,
        details={
            "operation": operation.pk,
            "kind": operation.kind,
            "subject": f"{operation.subject_type}:{operation.subject_id}",
            "subject_label": operation.subject_label,
            **({"parent": operation.parent_id} if operation.parent_id else {}),
            **details,
        },
    )


def steps_create(operation: Operation) -> None:
    """Write the operation's plan as pending steps (at request time, so people see the plan)."""
    kind = kind_of(operation.kind)
    OperationStep.objects.bulk_create(
        OperationStep(operation=operation, position=n, key=step.key, label=step.label)
        for n, step in enumerate(kind.plan(operation), start=1)
    )


def operation_finish(
    operation: Operation,
    state: str,
    *,
    only_if: Q,
    actor: Any = None,
    actor_name: str = "worker",
    action: str = "",
    **fields: Any,
) -> bool:
    """Finish the operation if `only_if` still holds: state, locks released, pending steps
    skipped and the audit event, in one transaction. Returns False if it no longer held."""
    now = timezone.now()
    with transaction.atomic():
        updated = (
            Operation.objects.filter(only_if, pk=operation.pk)
            .exclude(state__in=Operation.FINISHED_STATES)
            .update(state=state, finished_at=now, lease_id="", next_visit_at=None, **fields)
        )
        if not updated:
            return False
        claims_release(operation)
        operation.steps.filter(state=OperationStep.State.PENDING).update(
            state=OperationStep.State.SKIPPED
        )
        operation.refresh_from_db()
        operation_audit(
            operation,
            action or f"operation.{state}",
            actor=actor,
            actor_name=actor_name,
            outcome_="success" if state == Operation.State.SUCCEEDED else "failure",
            error_code=operation.error_code,
            error=operation.error_message,
            outcome=operation.outcome,
        )
        operation_tell(operation)
        operation_finished.send(sender=Operation, operation=operation)
    return True


def operation_tell(operation: Operation) -> None:
    """Tell the people concerned (sent after commit; never raises). A fleet operation's children
    are reported through their parent, not one message each."""
    # Imported here: notifications reads the operation kinds that import this module.
    from notifications.services import operation_notify

    if operation.parent_id is None:
        operation_notify(operation=operation)


@dataclass
class _Run:
    """One visit of a worker to an operation: what it holds and what it has done."""

    operation: Operation
    kind: OperationKind
    run_id: str
    enqueue: Enqueue
    done: list[tuple[OperationStep, Step]] = field(default_factory=list)

    @property
    def held(self) -> Q:
        return Q(lease_id=self.run_id)


def operation_execute(*, operation_id: int, enqueue: Enqueue, task_id: str = "") -> None:
    """Run (or resume) an operation. Safe to call any number of times for the same id."""
    with operation_context(operation_id):  # every log line of the run names the operation
        _execute(operation_id, enqueue, task_id)


def _execute(operation_id: int, enqueue: Enqueue, task_id: str) -> None:
    # Only what decides whether to run: a wake-up that finds the operation held or finished
    # does not read its parameters and checkpoint (a fleet parent's plan is large).
    found = Operation.objects.filter(pk=operation_id).values_list("state", "kind").first()
    if found is None or found[0] not in (Operation.State.QUEUED, Operation.State.RUNNING):
        return
    run_id = uuid.uuid4().hex
    if not _acquire(operation_id, run_id, task_id):
        _wake_kept(operation_id)
        log.info("operation %s is held by a live run or paused; leaving it", operation_id)
        return
    operation = Operation.objects.get(pk=operation_id)
    run = _Run(operation, kind_of(operation.kind), run_id, enqueue)
    if operation.state == Operation.State.QUEUED and not _admit(run, task_id):
        return
    try:
        if operation.attempts > settings.OPERATIONS_MAX_ATTEMPTS:
            _give_up(run)
            return
        _run_steps(run)
    except LeaseLostError:
        log.warning("operation %s: lease lost; another run continues it", operation.pk)
    except BaseException:
        # Interrupted (time limit, shutdown): let the next run start at once instead of
        # waiting for the lease to lapse. OPERATIONS_MAX_ATTEMPTS bounds the retries.
        _release(run, delay=0.0)
        raise
    _notify_parent(run)


def _acquire(operation_id: int, run_id: str, task_id: str) -> bool:
    now = timezone.now()
    stale = now - timedelta(seconds=lease_seconds())
    return bool(
        Operation.objects.filter(
            pk=operation_id,
            state__in=(Operation.State.QUEUED, Operation.State.RUNNING),
            paused_at__isnull=True,
        )
        .filter(Q(lease_id="") | Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True))
        .update(
            lease_id=run_id,
            heartbeat_at=now,
            next_visit_at=None,
            celery_task_id=task_id[:255],
            attempts=F("attempts") + 1,
        )
    )


def _wake_kept(operation_id: int) -> None:
    """A wake-up for an operation a live run holds (a parent mid-visit when a child frees a
    slot): marked on the row, so that run looks again at once instead of after its Wait."""
    Operation.objects.filter(pk=operation_id).exclude(lease_id="").update(
        next_visit_at=timezone.now()
    )


class _Full(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _admit(run: _Run, task_id: str) -> bool:
    """Take the kind's admission slots and start running, in one transaction; or say why the
    operation waits, release it and look again later (a wait is not an attempt)."""
    operation = run.operation
    limits = run.kind.limits(run.kind.parameters_from(operation.parameters))
    try:
        with transaction.atomic():
            reason = slots_take(operation, limits)
            if reason:
                raise _Full(reason)
            Operation.objects.filter(run.held, pk=operation.pk).update(
                state=Operation.State.RUNNING, started_at=timezone.now(), outcome=""
            )
            operation.refresh_from_db()
            operation_audit(operation, "operation.running", actor_name="worker", task=task_id)
    except _Full as full:
        delay = float(settings.OPERATIONS_ADMISSION_RETRY_SECONDS)
        Operation.objects.filter(run.held, pk=operation.pk).update(
            outcome=f"Waiting: {full.reason}",
            lease_id="",
            next_visit_at=timezone.now() + timedelta(seconds=delay),
            attempts=F("attempts") - 1,
        )
        run.enqueue(operation.pk, delay)
        return False
    return True


def _run_steps(run: _Run) -> None:
    operation = run.operation
    plan = {step.key: step for step in run.kind.plan(operation)}
    rows = list(operation.steps.order_by("position"))
    run.done = [(row, plan[row.key]) for row in rows if row.state == OperationStep.State.SUCCEEDED]
    for row in rows:
        if row.state in (OperationStep.State.SUCCEEDED, OperationStep.State.SKIPPED):
            continue
        spec = plan[row.key]
        context = StepContext(operation, row, run.run_id, run.enqueue)
        try:
            if context.cancel_requested():
                raise CancelledError
            _mark(row, OperationStep.State.RUNNING)
            context.heartbeat()
            result = spec.run(context)
        except CancelledError:
            _cancel(run, row)
            return
        except AzureTransientError as exc:
            if operation.attempts >= settings.OPERATIONS_MAX_ATTEMPTS:
                _fail(run, row, str(exc), exc.code)
                return
            delay = _transient_delay(operation.attempts)
            _retry_later(
                run, row, delay, f"Azure is busy or unreachable ({exc}); retrying in {delay:.0f} s."
            )
            return
        except (AzureOperationError, StepFailedError) as exc:
            _fail(run, row, exc.message, exc.code)
            return
        except LeaseLostError:
            raise
        except Exception as exc:
            _unexpected(run, row, exc)
            return
        if isinstance(result, Wait):
            _wait(run, row, result)
            return
        _mark(row, OperationStep.State.SUCCEEDED, result)
        if operation.last_unexpected_error:
            operation.last_unexpected_error = ""
            Operation.objects.filter(pk=operation.pk).update(last_unexpected_error="")
        run.done.append((row, spec))
    if not operation_finish(operation, Operation.State.SUCCEEDED, only_if=run.held, outcome=""):
        raise LeaseLostError


def _release(run: _Run, *, delay: float, unless_woken: bool = False, **fields: Any) -> int:
    held = Operation.objects.filter(run.held, pk=run.operation.pk)
    if unless_woken:
        # A wake-up kept while this run held the lease (`_wake_kept`) set next_visit_at.
        held = held.filter(next_visit_at__isnull=True)
    return held.update(
        lease_id="", next_visit_at=timezone.now() + timedelta(seconds=delay), **fields
    )


def _wait(run: _Run, row: OperationStep, wait: Wait) -> None:
    """Azure is not done: say so on the step, free the worker, and come back (at once if the
    operation was woken while this visit ran: what woke it is not in what this visit saw)."""
    if wait.message != row.message:
        row.message = wait.message[:4000]
        row.save(update_fields=["message"])
    fields: dict[str, Any] = {"attempts": F("attempts") - 1, "last_unexpected_error": ""}
    delay = wait.seconds
    if not _release(run, delay=delay, unless_woken=True, **fields):
        delay = 0.0
        _release(run, delay=delay, **fields)
    run.enqueue(run.operation.pk, delay)


def _retry_later(run: _Run, row: OperationStep, delay: float, message: str) -> None:
    row.message = message[:4000]
    row.save(update_fields=["message"])
    _release(run, delay=delay)
    run.enqueue(run.operation.pk, delay)


def _unexpected(run: _Run, row: OperationStep, exc: Exception) -> None:
    """A bug or a surprise: written to the step and the operation; retried once, and the same
    error on the next attempt fails the operation with it (it is not going away)."""
    log.exception("operation %s step %s raised unexpectedly", run.operation.pk, row.key)
    error_type = type(exc).__name__
    message = str(exc) or error_type
    signature = f"{error_type}: {message}"[:4000]
    row.error_type = error_type[:200]
    row.error_message = message[:4000]
    row.save(update_fields=["error_type", "error_message"])
    operation = run.operation
    if (
        operation.last_unexpected_error == signature
        or operation.attempts >= settings.OPERATIONS_MAX_ATTEMPTS
    ):
        _fail(run, row, f"Unexpected error, twice in a row: {signature}", error_type)
        return
    Operation.objects.filter(run.held, pk=operation.pk).update(last_unexpected_error=signature)
    delay = _transient_delay(operation.attempts)
    _retry_later(
        run, row, delay, f"Unexpected error ({signature}); trying once more in {delay:.0f} s."
    )


def _give_up(run: _Run) -> None:
    operation = run.operation
    row = operation.steps.exclude(
        state__in=(OperationStep.State.SUCCEEDED, OperationStep.State.SKIPPED)
    ).first()
    if row is None:
        return
    plan = {step.key: step for step in run.kind.plan(operation)}
    run.done = [
        (r, plan[r.key]) for r in operation.steps.filter(state=OperationStep.State.SUCCEEDED)
    ]
    _fail(run, row, f"Gave up after {operation.attempts - 1} attempts.", "TooManyAttempts")


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


def _undo(run: _Run) -> list[str]:
    """Undo completed steps, newest first. Returns the problems (empty when all undone)."""
    problems: list[str] = []
    for row, spec in reversed(run.done):
        if spec.undo is None:
            continue
        context = StepContext(run.operation, row, run.run_id, run.enqueue)
        try:
            message = spec.undo(context)
        except (AzureOperationError, AzureTransientError, StepFailedError) as exc:
            problems.append(f"could not undo “{row.label}”: {exc}")
            _mark(row, OperationStep.State.FAILED, f"Undo failed: {exc}")
            continue
        except LeaseLostError:
            raise
        except Exception as exc:
            log.exception("operation %s: undo of %s raised", run.operation.pk, row.key)
            problems.append(f"could not undo “{row.label}”: {type(exc).__name__}: {exc}")
            _mark(row, OperationStep.State.FAILED, f"Undo failed: {type(exc).__name__}: {exc}")
            continue
        _mark(row, OperationStep.State.UNDONE, message)
    return problems


def _fail(run: _Run, row: OperationStep, message: str, code: str) -> None:
    operation, kind = run.operation, run.kind
    _mark(row, OperationStep.State.FAILED, message)
    needs_undo = any(spec.undo for _, spec in run.done)
    problems = _undo(run) if needs_undo else []
    operation.refresh_from_db(fields=["outcome_if_failed", "outcome_if_rolled_back"])
    if problems:
        outcome = "ROLLBACK INCOMPLETE — manual action needed: " + "; ".join(problems)
    elif needs_undo:
        outcome = "Rolled back: " + (operation.outcome_if_rolled_back or kind.untouched_outcome)
    else:
        outcome = operation.outcome_if_failed or kind.untouched_outcome
    if not operation_finish(
        operation,
        Operation.State.FAILED,
        only_if=run.held,
        error_code=code[:100],
        error_message=message,
        outcome=outcome,
    ):
        raise LeaseLostError


def _cancel(run: _Run, row: OperationStep) -> None:
    context = StepContext(run.operation, row, run.run_id, run.enqueue)
    notes = [run.kind.cancel_running(context)] if run.kind.cancel_running else []
    problems = _undo(run)
    _mark(row, OperationStep.State.SKIPPED, "Cancelled.")
    notes += problems
    if not operation_finish(
        run.operation,
        Operation.State.CANCELLED,
        only_if=run.held,
        outcome=" ".join(notes) if notes else run.kind.untouched_outcome,
    ):
        raise LeaseLostError


def _notify_parent(run: _Run) -> None:
    """A finished child wakes its parent at once instead of at the parent's next look (unless
    it gave its slots back earlier and woke the parent then, and the parent's kind hands out
    only slots: finishing frees nothing more, and the parent's own look sees the count)."""
    operation = run.operation
    if not operation.parent_id or not operation.is_finished:
        return
    if operation.checkpoint.get(SLOTS_RELEASED):
        parent_kind = (
            Operation.objects.filter(pk=operation.parent_id).values_list("kind", flat=True).first()
        )
        if parent_kind and not kind_of(parent_kind).woken_by_finishing_children:
            return
    try:
        run.enqueue(operation.parent_id, 0.0)
    except Exception:
        log.exception("could not wake parent %s of %s", operation.parent_id, operation.pk)


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
