"""Parent operations: a fleet operation whose children are ordinary operations.

A parent kind's plan has a step that calls `children_supervise` on every visit: it starts
children (in order, at most `max_running` active at once), returns a `Wait` while any remain,
and says how it went once all have finished. Children are queued without approval (the
parent's approval covers them), take their own locks and admission slots, and wake the parent
when they finish. Pausing the parent stops it starting more; cancelling it cancels the queued
children and asks the running ones to stop where their kind allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from operations.context import StepContext, StepFailedError
from operations.engine import operation_start_now
from operations.kinds import StepResult, Subject, Wait
from operations.models import Operation
from tenants.models import Tenant


@dataclass(frozen=True)
class ChildRequest:
    """One child a parent will start: its kind, subject and typed parameters."""

    kind: str
    subject: Subject
    parameters: Any
    tenant: Tenant | None = None


def children_supervise(
    context: StepContext,
    *,
    children: list[ChildRequest],
    max_running: int,
    look_again_seconds: float = 5.0,
) -> StepResult:
    """Start the next children up to `max_running` active; Wait while any are unfinished."""
    parent = context.operation
    children_plan_record(context, len(children))
    started = int(context.get("children_started", 0))
    active = parent.children.filter(state__in=Operation.ACTIVE_STATES).count()
    while started < len(children) and active < max_running:
        started = _child_start(context, children[started], started)
        active = parent.children.filter(state__in=Operation.ACTIVE_STATES).count()
    if started < len(children) or active:
        counts = children_counts(parent, planned=len(children))
        return Wait(
            look_again_seconds,
            f"{counts.finished} of {counts.planned} finished, {counts.running} running, "
            f"{counts.waiting} waiting to start.",
        )
    counts = children_counts(parent, planned=len(children))
    summary = counts.summary()
    if counts.failed or counts.refused:
        raise StepFailedError(summary, code="ChildrenFailed")
    return summary


def _child_start(context: StepContext, request: ChildRequest, index: int) -> int:
    """Create child number `index` and record that it was started, in one transaction (a
    resumed parent neither skips nor repeats a child)."""
    with transaction.atomic():
        refusal = child_create(context, request)
        refused = list(context.get("children_refused", []))
        if refusal:
            refused.append({"subject": request.subject.label, "reason": refusal})
        context.save(children_started=index + 1, children_refused=refused)
    return index + 1


def child_create(context: StepContext, request: ChildRequest) -> str | None:
    """Create and enqueue (after commit) one child of the running parent, inside the caller's
    transaction; returns why it was refused (its subject busy), or None. Parents that choose
    their own order (e.g. by room in each pool) call this and record the start themselves."""
    # Imported here: services import the engine, which this module extends.
    from operations.services import OperationRefusedError, operation_create

    parent = context.operation
    try:
        with transaction.atomic():
            child = operation_create(
                kind=request.kind,
                subject=request.subject,
                tenant=request.tenant,
                requested_by=parent.requested_by,
                reason=f"Part of #{parent.pk}: {parent.reason}",
                ticket=parent.ticket,
                parameters=request.parameters,
                needs_approval=False,
                parent=parent,
            )
            operation_start_now(child, context.enqueue)
    except OperationRefusedError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class ChildCounts:
    """A parent's children by state, with elapsed and projected time."""

    planned: int
    by_state: dict[str, int]
    refused: int
    elapsed: timedelta | None
    projected_remaining: timedelta | None

    @property
    def running(self) -> int:
        return self.by_state.get(Operation.State.RUNNING, 0)

    @property
    def failed(self) -> int:
        return self.by_state.get(Operation.State.FAILED, 0)

    @property
    def finished(self) -> int:
        return sum(self.by_state.get(state, 0) for state in Operation.FINISHED_STATES) + (
            self.refused
        )

    @property
    def waiting(self) -> int:
        return self.planned - self.finished - self.running

    def summary(self) -> str:
        parts = [
            f"{self.by_state.get(state, 0)} {label.lower()}"
            for state, label in Operation.State.choices
            if self.by_state.get(state, 0)
        ]
        if self.refused:
            parts.append(f"{self.refused} refused (subject busy)")
        return f"{self.planned} children: " + ", ".join(parts or ["none started"]) + "."


def children_counts(parent: Operation, *, planned: int | None = None) -> ChildCounts:
    """Counts by state (one query), elapsed time and a projection from the finished ones."""
    rows = parent.children.values_list("state").annotate(n=Count("id")).order_by()
    by_state = {state: n for state, n in rows}
    refused = len(parent.checkpoint.get("children_refused", []))
    total = planned if planned is not None else int(parent.checkpoint.get("children_planned", 0))
    total = max(total, sum(by_state.values()) + refused)
    # A finished parent's elapsed time stops at its finish.
    end = parent.finished_at or timezone.now()
    elapsed = end - parent.started_at if parent.started_at else None
    done = sum(by_state.get(s, 0) for s in Operation.FINISHED_STATES) + refused
    remaining = _projection(elapsed, done, total)
    return ChildCounts(total, by_state, refused, elapsed, remaining)


def _projection(elapsed: timedelta | None, done: int, total: int) -> timedelta | None:
    if elapsed is None or not done or done >= total:
        return None
    return elapsed * (total - done) / done


def children_plan_record(context: StepContext, planned: int) -> None:
    """Let pages show the planned count before all children exist."""
    if context.get("children_planned") != planned:
        context.save(children_planned=planned)
