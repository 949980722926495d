"""The operations write path: request, approve, cancel, pause, resume, sweep.

Every state change is written with its audit event in one transaction; permissions for the
actions are decided here once (`*_refusal`) and the pages ask the same functions.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from operations.claims import LockHeldError, locks_take
from operations.engine import (
    Enqueue,
    lease_seconds,
    operation_audit,
    operation_finish,
    operation_start_now,
    operation_tell,
    steps_create,
)
from operations.kinds import Subject, kind_of
from operations.models import Operation, OperationStep
from operations.tasks import enqueue_run
from portal.roles import APPROVE_OPERATION
from tenants.models import Tenant


class OperationRefusedError(Exception):
    """The request cannot be accepted; the message says why and nothing was changed."""


def tenant_subject(tenant: Tenant) -> Subject:
    return Subject(Operation.Subject.TENANT, tenant.slug, tenant.display_name)


def operation_request(
    *,
    kind: str,
    requested_by: User,
    reason: str,
    parameters: Any,
    tenant: Tenant | None = None,
    subject: Subject | None = None,
    ticket: str = "",
    checkpoint: dict[str, Any] | None = None,
    enqueue: Enqueue = enqueue_run,
) -> Operation:
    """Create an operation (waiting for approval, or queued and enqueued after commit).

    The caller has already validated the parameters against Azure; this checks the person's
    permission and takes the kind's lock keys (the database lets one operation hold each).
    """
    operation_kind = kind_of(kind)
    if not requested_by.has_perm(operation_kind.permission):
        raise OperationRefusedError(
            f"You do not have permission to request a {operation_kind.label.lower()}."
        )
    if not reason.strip():
        raise OperationRefusedError("Say why (a reason is required and goes into the audit trail).")
    needs_approval = operation_kind.needs_approval()
    with transaction.atomic():
        operation = operation_create(
            kind=kind,
            subject=subject or tenant_subject(_required(tenant)),
            tenant=tenant,
            requested_by=requested_by,
            reason=reason.strip(),
            ticket=ticket.strip(),
            parameters=parameters,
            checkpoint=checkpoint,
            needs_approval=needs_approval,
        )
        if not needs_approval:
            operation_start_now(operation, enqueue)
    return operation


def _required(tenant: Tenant | None) -> Tenant:
    if tenant is None:
        raise TypeError("operation_request needs a tenant or a subject")
    return tenant


def operation_create(
    *,
    kind: str,
    subject: Subject,
    tenant: Tenant | None,
    requested_by: User,
    reason: str,
    ticket: str,
    parameters: Any,
    checkpoint: dict[str, Any] | None = None,
    needs_approval: bool,
    parent: Operation | None = None,
) -> Operation:
    """The row, its steps, its locks and its audit event (inside the caller's transaction)."""
    operation_kind = kind_of(kind)
    values = operation_kind.parameters_from(parameters)
    now = timezone.now()
    approval: dict[str, Any] = (
        {"approval_expires_at": now + timedelta(minutes=settings.OPERATIONS_APPROVAL_TTL_MINUTES)}
        if needs_approval
        else {}
    )
    if parent is not None:
        # One approval of the parent covers its children.
        approval = {"approved_by": parent.approved_by, "approved_at": parent.approved_at}
    try:
        with transaction.atomic():
            operation = Operation.objects.create(
                kind=kind,
                subject_type=subject.type,
                subject_id=subject.id,
                subject_label=subject.label,
                tenant=tenant,
                parent=parent,
                state=Operation.State.AWAITING_APPROVAL
                if needs_approval
                else Operation.State.QUEUED,
                requested_by=requested_by,
                reason=reason,
                ticket=ticket,
                parameters=operation_kind.parameters_json(values),
                checkpoint=checkpoint or {},
                **approval,
            )
            locks_take(operation, [subject.lock_key, *operation_kind.extra_locks(values)])
            steps_create(operation)
            operation_audit(
                operation,
                "operation.requested",
                actor=requested_by,
                parameters=operation.parameters,
                reason=operation.reason,
                ticket=operation.ticket,
                needs_approval=needs_approval,
            )
            if needs_approval:
                operation_tell(operation)  # the approvers, after commit
    except LockHeldError as exc:
        raise OperationRefusedError(_lock_refusal(subject, exc)) from exc
    return operation


def _lock_refusal(subject: Subject, exc: LockHeldError) -> str:
    holder = exc.holder
    detail = f" (#{holder.pk}, {holder.get_state_display().lower()})" if holder else ""
    who = (
        subject.label if holder is None or holder.subject_id == subject.id else holder.subject_label
    )
    return (
        f"{who} already has an operation in progress{detail}; "
        "wait for it to finish or cancel it first."
    )


def approval_refusal(operation: Operation, user: User | AnonymousUser) -> str | None:
    """Why `user` may not approve `operation` now, or None if they may."""
    if operation.state != Operation.State.AWAITING_APPROVAL:
        return "This operation is not waiting for approval."
    if not user.has_perm(APPROVE_OPERATION):
        return "You do not have permission to approve operations."
    if user.pk == operation.requested_by_id:
        return "The person who requested an operation cannot approve it; a second person must."
    if operation.approval_expires_at and operation.approval_expires_at <= timezone.now():
        return "The approval window has passed; the operation must be requested again."
    return None


def awaiting_approval_by(user: User | AnonymousUser) -> Q:
    """The operations `user` may approve now, as a database filter: `approval_refusal`'s rule
    for many rows at once (tests/operations/test_approvals.py holds the two to each other)."""
    if not user.has_perm(APPROVE_OPERATION):
        return Q(pk__in=[])
    return (
        Q(state=Operation.State.AWAITING_APPROVAL)
        & ~Q(requested_by_id=user.pk)
        & (Q(approval_expires_at__isnull=True) | Q(approval_expires_at__gt=timezone.now()))
    )


def cancel_refusal(operation: Operation, user: User | AnonymousUser) -> str | None:
    """Why `user` may not cancel `operation` now, or None if they may (the step may still
    refuse: see `operation_cancel`)."""
    if not (user.pk == operation.requested_by_id or user.has_perm(APPROVE_OPERATION)):
        return "Only the requester or an approver can cancel this operation."
    if operation.is_finished:
        return "This operation has already finished."
    return None


def pause_refusal(operation: Operation, user: User | AnonymousUser) -> str | None:
    """Why `user` may not pause (or resume) `operation`, or None if they may."""
    if not kind_of(operation.kind).pausable:
        return "This kind of operation cannot be paused."
    return cancel_refusal(operation, user)


def can_approve(user: User | AnonymousUser, operation: Operation) -> bool:
    return approval_refusal(operation, user) is None


def can_cancel(user: User | AnonymousUser, operation: Operation) -> bool:
    return cancel_refusal(operation, user) is None


def can_pause(user: User | AnonymousUser, operation: Operation) -> bool:
    return pause_refusal(operation, user) is None


def operation_approve(
    *, operation: Operation, approver: User, enqueue: Enqueue = enqueue_run
) -> Operation:
    """A second person approves; the operation is queued. The requester cannot approve."""
    refuse = approval_refusal(operation, approver)
    if refuse:
        operation_audit(
            operation, "operation.approve", actor=approver, outcome_="denied", reason=refuse
        )
        raise OperationRefusedError(refuse)
    with transaction.atomic():
        updated = Operation.objects.filter(
            pk=operation.pk, state=Operation.State.AWAITING_APPROVAL
        ).update(state=Operation.State.QUEUED, approved_by=approver, approved_at=timezone.now())
        if not updated:
            raise OperationRefusedError("This operation is no longer waiting for approval.")
        operation.refresh_from_db()
        operation_audit(operation, "operation.approved", actor=approver)
        operation_start_now(operation, enqueue)
    return operation


def operation_reject(*, operation: Operation, by: User, reason: str) -> Operation:
    """An approver turns the request down and says why; it finishes as cancelled with nothing
    done in Azure, and the requester is told (as for any cancellation)."""
    refuse = approval_refusal(operation, by)
    if refuse is None and not reason.strip():
        refuse = "Say why you reject it: the requester is told, and it goes into the audit trail."
    if refuse:
        operation_audit(operation, "operation.reject", actor=by, outcome_="denied", reason=refuse)
        raise OperationRefusedError(refuse)
    who = by.get_full_name() or by.get_username()
    if not operation_finish(
        operation,
        Operation.State.CANCELLED,
        only_if=Q(state=Operation.State.AWAITING_APPROVAL),
        actor=by,
        action="operation.rejected",
        cancelled_by=by,
        cancel_requested_at=timezone.now(),
        outcome=f"Rejected by {who}: {reason.strip()} {kind_of(operation.kind).untouched_outcome}",
    ):
        raise OperationRefusedError("This operation is no longer waiting for approval.")
    operation.refresh_from_db()
    return operation


def operation_cancel(*, operation: Operation, by: User) -> Operation:
    """Cancel before Azure work starts, or ask a running operation to stop where it safely can.
    Cancelling a parent cancels its queued children and asks its running ones to stop."""
    refuse = cancel_refusal(operation, by)
    if refuse:
        raise OperationRefusedError(refuse)
    with transaction.atomic():
        if operation.state in (Operation.State.AWAITING_APPROVAL, Operation.State.QUEUED):
            now = timezone.now()
            updated = operation_finish(
                operation,
                Operation.State.CANCELLED,
                only_if=Q(state=operation.state, lease_id=""),
                actor=by,
                cancelled_by=by,
                cancel_requested_at=now,
                outcome=kind_of(operation.kind).untouched_outcome,
            )
        else:
            _refuse_if_uninterruptible(operation)
            updated = bool(
                Operation.objects.filter(pk=operation.pk, state=Operation.State.RUNNING).update(
                    cancel_requested_at=timezone.now(), cancelled_by=by
                )
            )
            if updated:
                operation.refresh_from_db()
                operation_audit(operation, "operation.cancel", actor=by, state=operation.state)
        if not updated:
            raise OperationRefusedError("The operation changed state meanwhile; look again.")
        _children_cancel(operation, by)
    return operation


def _refuse_if_uninterruptible(operation: Operation) -> None:
    running = operation.steps.filter(state=OperationStep.State.RUNNING).first()
    plan = {step.key: step for step in kind_of(operation.kind).plan(operation)}
    if running is not None and not plan[running.key].cancellable:
        raise OperationRefusedError(
            f"“{running.label}” is in progress and cannot be interrupted safely; "
            "the operation will finish or roll back by itself."
        )


def _children_cancel(parent: Operation, by: User) -> None:
    for child in parent.children.filter(state__in=Operation.ACTIVE_STATES):
        # Mid-swap or finished meanwhile: it finishes or rolls back by itself.
        with contextlib.suppress(OperationRefusedError):
            operation_cancel(operation=child, by=by)


def operation_pause(*, operation: Operation, by: User) -> Operation:
    """Stop visiting the operation between steps until resumed (running children go on)."""
    refuse = pause_refusal(operation, by)
    if refuse:
        raise OperationRefusedError(refuse)
    with transaction.atomic():
        if not Operation.objects.filter(
            pk=operation.pk, state__in=Operation.ACTIVE_STATES, paused_at__isnull=True
        ).update(paused_at=timezone.now()):
            raise OperationRefusedError("The operation is already paused or has finished.")
        operation.refresh_from_db()
        operation_audit(operation, "operation.paused", actor=by)
    return operation


def operation_resume(
    *, operation: Operation, by: User, enqueue: Enqueue = enqueue_run
) -> Operation:
    refuse = pause_refusal(operation, by)
    if refuse:
        raise OperationRefusedError(refuse)
    with transaction.atomic():
        if not Operation.objects.filter(
            pk=operation.pk, state__in=Operation.ACTIVE_STATES, paused_at__isnull=False
        ).update(paused_at=None):
            raise OperationRefusedError("The operation is not paused.")
        operation.refresh_from_db()
        operation_audit(operation, "operation.resumed", actor=by)
        if operation.state != Operation.State.AWAITING_APPROVAL:
            operation_start_now(operation, enqueue)
    return operation


def operations_sweep(*, enqueue: Enqueue = enqueue_run) -> dict[str, int]:
    """Re-enqueue operations whose run stopped (lease lapsed, or a wait's next visit long
    overdue) and expire stale approvals. A waiting operation is not revived early."""
    now = timezone.now()
    stale = now - timedelta(seconds=lease_seconds())
    active = Operation.objects.filter(
        state__in=(Operation.State.QUEUED, Operation.State.RUNNING), paused_at__isnull=True
    )
    silent = Q(heartbeat_at__lt=stale) & ~Q(lease_id="")
    overdue = Q(lease_id="", next_visit_at__lt=stale)
    released_long_ago = Q(lease_id="", next_visit_at__isnull=True, heartbeat_at__lt=stale)
    # Queued but never picked up (the broker was down when it was enqueued).
    never_started = Q(
        state=Operation.State.QUEUED, heartbeat_at__isnull=True, created_at__lt=stale
    ) & (Q(approved_at__isnull=True) | Q(approved_at__lt=stale))
    revived = 0
    for operation_id in active.filter(
        silent | overdue | released_long_ago | never_started
    ).values_list("pk", flat=True):
        enqueue(operation_id, 0.0)
        revived += 1
    expired = 0
    for operation in Operation.objects.filter(
        state=Operation.State.AWAITING_APPROVAL, approval_expires_at__lte=now
    ):
        if operation_finish(
            operation,
            Operation.State.CANCELLED,
            only_if=Q(state=Operation.State.AWAITING_APPROVAL),
            actor_name="sweep",
            action="operation.approval_expired",
            outcome="Approval expired; nothing was changed in Azure.",
        ):
            expired += 1
    return {"revived": revived, "expired": expired}
