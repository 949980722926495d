"""Operations: list, get, approve, cancel — through the same selectors and services as the
pages, so the same people may do the same things, audited the same way."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from api.auth import caller_user
from api.problems import Problem
from api.schemas import OperationDetail, OperationPage, ProblemOut
from api.serialise import operation_detail, operation_summary
from operations.models import Operation
from operations.selectors import operation_for_user, operations_visible_to
from operations.services import OperationRefusedError, operation_approve, operation_cancel
from portal.roles import APPROVE_OPERATION

router = Router(tags=["operations"])
REFUSALS: dict[int | str, Any] = {403: ProblemOut, 404: ProblemOut, 409: ProblemOut}


class OperationFilters(Schema):
    state: Operation.State | None = None
    tenant: str = ""
    kind: str = ""
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=200)


@router.get("/operations", response=OperationPage, summary="Operations you may see, newest first")
def operation_list(request: HttpRequest, filters: Query[OperationFilters]) -> dict[str, Any]:
    operations = operations_visible_to(caller_user(request)).order_by("-created_at", "-pk")
    if filters.state:
        operations = operations.filter(state=filters.state)
    if filters.tenant:
        operations = operations.filter(tenant__slug=filters.tenant)
    if filters.kind:
        operations = operations.filter(kind=filters.kind)
    page = operations[filters.offset : filters.offset + filters.limit]
    return {
        "count": operations.count(),
        "offset": filters.offset,
        "limit": filters.limit,
        "items": [operation_summary(o) for o in page],
    }


@router.get(
    "/operations/{operation_id}",
    response={200: OperationDetail, 404: ProblemOut},
    summary="One operation with its steps",
)
def operation_get(request: HttpRequest, operation_id: int) -> dict[str, Any]:
    return operation_detail(operation_for_user(caller_user(request), operation_id))


def _conflict(exc: OperationRefusedError) -> Problem:
    return Problem(409, "operation-refused", str(exc))


@router.post(
    "/operations/{operation_id}/approve",
    response={200: OperationDetail, **REFUSALS},
    summary="Approve an operation waiting for a second person",
)
def operation_approve_call(request: HttpRequest, operation_id: int) -> dict[str, Any]:
    user = caller_user(request, write=True)
    operation = operation_for_user(user, operation_id)
    if not user.has_perm(APPROVE_OPERATION):
        raise Problem(403, "forbidden", "You do not have permission to approve operations.")
    if user.pk == operation.requested_by_id:
        raise Problem(
            403,
            "forbidden",
            "The requester of an operation cannot approve it; a second person must.",
        )
    try:
        operation = operation_approve(operation=operation, approver=user)
    except OperationRefusedError as exc:
        raise _conflict(exc) from exc
    return operation_detail(operation)


@router.post(
    "/operations/{operation_id}/cancel",
    response={200: OperationDetail, **REFUSALS},
    summary="Cancel an operation (or ask a running one to stop where it safely can)",
)
def operation_cancel_call(request: HttpRequest, operation_id: int) -> dict[str, Any]:
    user = caller_user(request, write=True)
    operation = operation_for_user(user, operation_id)
    if not (user.pk == operation.requested_by_id or user.has_perm(APPROVE_OPERATION)):
        raise Problem(
            403, "forbidden", "Only the requester or an approver can cancel this operation."
        )
    try:
        operation = operation_cancel(operation=operation, by=user)
    except OperationRefusedError as exc:
        raise _conflict(exc) from exc
    return operation_detail(operation)
