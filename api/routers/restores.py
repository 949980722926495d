"""Requesting a restore in two calls, as the UI does in two pages: the plan (checked against
Azure, nothing queued), then the request with the plan's token. Both call the backups
services the restore views call, so checks, approvals, permissions and audit are the same."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import Router, Status

from api.auth import caller_user
from api.plan_tokens import plan_token_check, plan_token_issue
from api.problems import FieldError, Problem
from api.schemas import (
    OperationDetail,
    ProblemOut,
    RestoreConfirmIn,
    RestoreIn,
    RestorePlanOut,
)
from api.serialise import operation_detail
from backups.services import (
    RestoreConflictError,
    RestoreRefusedError,
    RestoreRequest,
    restore_plan,
    restore_request,
)
from portal.roles import REQUEST_RESTORE
from tenants.models import Tenant
from tenants.selectors import tenant_for_user

router = Router(tags=["restores"])
REFUSALS: dict[int | str, Any] = {
    400: ProblemOut,
    403: ProblemOut,
    404: ProblemOut,
    409: ProblemOut,
    422: ProblemOut,
}


def _restore_tenant(user: User, slug: str) -> Tenant:
    tenant = tenant_for_user(user, slug)
    if not user.has_perm(REQUEST_RESTORE):
        raise Problem(403, "forbidden", "You do not have permission to request restores.")
    return tenant


def _request(inputs: RestoreIn) -> RestoreRequest:
    return RestoreRequest(
        mode=inputs.mode,
        source=inputs.source,
        when=inputs.when,
        in_utc=inputs.zone == "utc",
        long_term_backup_id=inputs.long_term_backup_id,
        dropped_database_id=inputs.dropped_database_id,
    )


def _refused(exc: RestoreRefusedError) -> Problem:
    """A refusal of the plan: another operation in the way (409), the input at fault when there
    is one (422), else 400. A time a daylight-saving change made ambiguous comes with its UTC
    readings to choose from."""
    extra = {"utc_readings": [r.isoformat() for r in exc.readings]} if exc.readings else {}
    if isinstance(exc, RestoreConflictError):
        return Problem(409, "restore-conflict", exc.message)
    if exc.field:
        return Problem(
            422,
            "restore-refused",
            exc.message,
            errors=[FieldError(exc.field, exc.message)],
            extra=extra,
        )
    return Problem(400, "restore-refused", exc.message, extra=extra)


@router.post(
    "/restores/plan",
    response={200: RestorePlanOut, **REFUSALS},
    summary="Check a restore against Azure and get its plan and plan token (nothing is queued)",
)
def restore_plan_call(request: HttpRequest, payload: RestoreIn) -> dict[str, Any]:
    user = caller_user(request, write=True)
    tenant = _restore_tenant(user, payload.tenant)
    try:
        plan = restore_plan(tenant=tenant, user=user, request=_request(payload))
    except RestoreRefusedError as exc:
        raise _refused(exc) from exc
    token, expires = plan_token_issue(user=user, inputs=payload)
    return {
        "tenant": tenant.slug,
        "kind": plan.kind,
        "needs_approval": plan.needs_approval,
        "checks": [{"what": what, "finding": finding} for what, finding in plan.checks],
        "steps": plan.steps,
        "plan_token": token,
        "plan_expires_at": expires,
    }


@router.post(
    "/restores",
    response={202: OperationDetail, **REFUSALS},
    summary="Request the planned restore (re-checked now; may wait for approval)",
)
def restore_request_call(request: HttpRequest, payload: RestoreConfirmIn) -> Status[dict[str, Any]]:
    user = caller_user(request, write=True)
    tenant = _restore_tenant(user, payload.tenant)
    plan_token_check(token=payload.plan_token, user=user, inputs=payload)
    try:
        operation = restore_request(
            tenant=tenant,
            user=user,
            request=_request(payload),
            reason=payload.reason,
            ticket=payload.ticket,
            # The token binds the tenant the caller named: that is its typed confirmation.
            confirm_slug=tenant.slug,
        )
    except RestoreRefusedError as exc:
        raise _refused(exc) from exc
    return Status(202, operation_detail(operation))
