"""The operations write path: request, approve, cancel, sweep. Every state change is audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from operations.engine import lease_seconds, operation_start_now, steps_create
from operations.kinds import kind_of
from operations.models import Operation, OperationStep
from portal.audit import audit_record
from portal.roles import APPROVE_OPERATION
from tenants.models import Tenant


class OperationRefusedError(Exception):
    """The request cannot be accepted; the message says why and nothing was changed."""


def _enqueue(operation_id: int, countdown: float) -> None:
    # Imported here: the tasks module imports the engine, which the services also use.
    from operations.tasks import enqueue_run

    enqueue_run(operation_id, countdown)


def operation_request(
    *,
    kind: str,
    tenant: Tenant,
    requested_by: User,
    reason: str,
    ticket: str = "",
    parameters: dict[str, Any],
    checkpoint: dict[str, Any] | None = None,
) -> Operation:
    """Create an operation (waiting for approval, or queued and enqueued after commit).

    The caller has already validated the parameters against Azure; this checks the person's
    permission and the one-active-operation-per-tenant rule (the database enforces it too).
    """
    operation_kind = kind_of(kind)
    if not requested_by.has_perm(operation_kind.permission):
        raise OperationRefusedError(
            f"You do not have permission to request a {operation_kind.label.lower()}."
        )
    if not reason.strip():
        raise OperationRefusedError("Say why (a reason is required and goes into the audit trail).")
    needs_approval = operation_kind.needs_approval()
    now = timezone.now()
    try:
        with transaction.atomic():
            operation = Operation.objects.create(
                tenant=tenant,
                kind=kind,
                state=Operation.State.AWAITING_APPROVAL
                if needs_approval
                else Operation.State.QUEUED,
                requested_by=requested_by,
                reason=reason.strip(),
                ticket=ticket.strip(),
                parameters=parameters,
                checkpoint=checkpoint or {},
                approval_expires_at=now
                + timedelta(minutes=settings.OPERATIONS_APPROVAL_TTL_MINUTES)
                if needs_approval
                else None,
            )
            steps_create(operation)
            audit_record(
                action="operation.requested",
                actor=requested_by,
                tenant=tenant.slug,
                details={
                    "operation": operation.pk,
                    "kind": kind,
                    "parameters": parameters,
                    "reason": operation.reason,
                    "ticket": operation.ticket,
                    "needs_approval": needs_approval,
                },
            )
            if not needs_approval:
                operation_start_now(operation, _enqueue)
    except IntegrityError as exc:
        active = Operation.objects.filter(tenant=tenant, state__in=Operation.ACTIVE_STATES).first()
        detail = f" (#{active.pk}, {active.get_state_display().lower()})" if active else ""
        raise OperationRefusedError(
            f"{tenant.display_name} already has an operation in progress{detail}; "
            "wait for it to finish or cancel it first."
        ) from exc
    return operation


def operation_approve(*, operation: Operation, approver: User) -> Operation:
    """A second person approves; the operation is queued. The requester cannot approve."""
    refuse = _approval_refusal(operation, approver)
    if refuse:
        audit_record(
            action="operation.approve",
            actor=approver,
            tenant=operation.tenant.slug,
            outcome="denied",
            details={"operation": operation.pk, "reason": refuse},
        )
        raise OperationRefusedError(refuse)
    with transaction.atomic():
        updated = Operation.objects.filter(
            pk=operation.pk, state=Operation.State.AWAITING_APPROVAL
        ).update(state=Operation.State.QUEUED, approved_by=approver, approved_at=timezone.now())
        if not updated:
            raise OperationRefusedError("This operation is no longer waiting for approval.")
        operation.refresh_from_db()
        audit_record(
            action="operation.approved",
            actor=approver,
            tenant=operation.tenant.slug,
            details={"operation": operation.pk, "kind": operation.kind},
        )
        operation_start_now(operation, _enqueue)
    return operation


def _approval_refusal(operation: Operation, approver: User) -> str | None:
    if operation.state != Operation.State.AWAITING_APPROVAL:
        return "This operation is not waiting for approval."
    if not approver.has_perm(APPROVE_OPERATION):
        return "You do not have permission to approve operations."
    if approver.pk == operation.requested_by_id:
        return "The person who requested an operation cannot approve it; a second person must."
    if operation.approval_expires_at and operation.approval_expires_at <= timezone.now():
        return "The approval window has passed; the operation must be requested again."
    return None


def operation_cancel(*, operation: Operation, by: User) -> Operation:
    """Cancel before Azure work starts, or ask a running operation to stop where it safely can."""
    if not (by.pk == operation.requested_by_id or by.has_perm(APPROVE_OPERATION)):
        raise OperationRefusedError("Only the requester or an approver can cancel this operation.")
    if operation.is_finished:
        raise OperationRefusedError("This operation has already finished.")
    with transaction.atomic():
        if operation.state in (Operation.State.AWAITING_APPROVAL, Operation.State.QUEUED):
            updated = Operation.objects.filter(
                pk=operation.pk, state=operation.state, lease_id=""
            ).update(
                state=Operation.State.CANCELLED,
                cancelled_by=by,
                cancel_requested_at=timezone.now(),
                finished_at=timezone.now(),
                outcome=kind_of(operation.kind).untouched_outcome,
            )
            if updated:
                operation.steps.filter(state=OperationStep.State.PENDING).update(
                    state=OperationStep.State.SKIPPED
                )
        else:
            running = operation.steps.filter(state=OperationStep.State.RUNNING).first()
            plan = {step.key: step for step in kind_of(operation.kind).plan(operation)}
            if running is not None and not plan[running.key].cancellable:
                raise OperationRefusedError(
                    f"“{running.label}” is in progress and cannot be interrupted safely; "
                    "the operation will finish or roll back by itself."
                )
            updated = Operation.objects.filter(
                pk=operation.pk, state=Operation.State.RUNNING
            ).update(cancel_requested_at=timezone.now(), cancelled_by=by)
        if not updated:
            raise OperationRefusedError("The operation changed state meanwhile; look again.")
        operation.refresh_from_db()
        audit_record(
            action="operation.cancel",
            actor=by,
            tenant=operation.tenant.slug,
            details={"operation": operation.pk, "state": operation.state},
        )
    return operation


def operations_sweep() -> dict[str, int]:
    """Re-enqueue operations whose run stopped (lease lapsed) and expire stale approvals."""
    now = timezone.now()
    stale = now - timedelta(seconds=lease_seconds())
    revived = 0
    silent = Operation.objects.filter(
        state__in=(Operation.State.QUEUED, Operation.State.RUNNING), heartbeat_at__lt=stale
    )
    # Queued but never picked up (the broker was down when it was enqueued).
    never_started = Operation.objects.filter(
        state=Operation.State.QUEUED, heartbeat_at__isnull=True, created_at__lt=stale
    ).filter(Q(approved_at__isnull=True) | Q(approved_at__lt=stale))
    for operation_id in (silent | never_started).values_list("pk", flat=True):
        _enqueue(operation_id, 0.0)
        revived += 1
    expired = 0
    for operation in Operation.objects.filter(
        state=Operation.State.AWAITING_APPROVAL, approval_expires_at__lte=now
    ).select_related("tenant"):
        with transaction.atomic():
            if Operation.objects.filter(
                pk=operation.pk, state=Operation.State.AWAITING_APPROVAL
            ).update(
                state=Operation.State.CANCELLED,
                finished_at=now,
                outcome="Approval expired; nothing was changed in Azure.",
            ):
                operation.steps.filter(state=OperationStep.State.PENDING).update(
                    state=OperationStep.State.SKIPPED
                )
                audit_record(
                    action="operation.approval_expired",
                    actor_name="sweep",
                    tenant=operation.tenant.slug,
                    details={"operation": operation.pk},
                )
                expired += 1
    return {"revived": revived, "expired": expired}
