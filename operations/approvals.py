"""The approvals page: what waits for this person's approval, oldest first, with approve and
reject. Who may approve is decided by operations.services; this page only asks."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from operations.flash import operation_flash
from operations.forms import RejectForm
from operations.selectors import (
    approvals_waiting_for,
    operation_for_user,
    own_requests_awaiting_approval,
)
from operations.services import OperationRefusedError, operation_approve, operation_reject
from portal.pages import render_page
from portal.roles import APPROVE_OPERATION


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # login_required ran first


def _approvals_context(
    request: HttpRequest, *, rejecting: tuple[int, RejectForm] | None = None
) -> dict[str, Any]:
    user = _user(request)
    waiting = list(approvals_waiting_for(user).prefetch_related("steps"))
    forms = {operation.pk: RejectForm(prefix=f"reject-{operation.pk}") for operation in waiting}
    if rejecting is not None:
        forms[rejecting[0]] = rejecting[1]
    return {
        "waiting": [(operation, forms[operation.pk]) for operation in waiting],
        "own": list(own_requests_awaiting_approval(user)),
    }


def approvals_page(
    request: HttpRequest,
    *,
    refusal: str = "",
    rejecting: tuple[int, RejectForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {**_approvals_context(request, rejecting=rejecting), "refusal": refusal}
    return render_page(
        request, "operations/approvals.html", context, title="Approvals", status=status
    )


@require_safe
@login_required
@permission_required(APPROVE_OPERATION, raise_exception=True)
def approvals(request: HttpRequest) -> HttpResponse:
    """The page; polled by htmx, only its countdowns and the badge (swapped out of band), so
    a reason being typed is never replaced."""
    if request.headers.get("HX-Request") == "true":
        return render(request, "operations/_approval_countdowns.html", _countdowns(request))
    return approvals_page(request)


def _countdowns(request: HttpRequest) -> dict[str, Any]:
    """The countdowns of the rows the page shows (`?shown=3,7`): still waiting, or gone."""
    shown = [int(pk) for pk in request.GET.get("shown", "").split(",")[:200] if pk.isdigit()]
    waiting = list(approvals_waiting_for(_user(request)).filter(pk__in=shown))
    still = {operation.pk for operation in waiting}
    return {"shown_waiting": waiting, "shown_gone": [pk for pk in shown if pk not in still]}


@require_POST
@login_required
@permission_required(APPROVE_OPERATION, raise_exception=True)
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    operation = operation_for_user(request.user, pk)
    try:
        operation_approve(operation=operation, approver=_user(request))
    except OperationRefusedError as exc:
        return approvals_page(request, refusal=f"#{pk}: {exc}", status=400)
    operation_flash(request, operation, f"Operation #{operation.pk} approved; it is queued.")
    return redirect("operations:approvals")


@require_POST
@login_required
@permission_required(APPROVE_OPERATION, raise_exception=True)
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    operation = operation_for_user(request.user, pk)
    form = RejectForm(request.POST, prefix=f"reject-{pk}")
    if not form.is_valid():
        return approvals_page(request, rejecting=(pk, form), status=400)
    try:
        operation_reject(operation=operation, by=_user(request), reason=form.cleaned_data["reason"])
    except OperationRefusedError as exc:
        return approvals_page(request, refusal=f"#{pk}: {exc}", status=400)
    operation_flash(
        request, operation, f"Operation #{operation.pk} rejected; the requester is told why."
    )
    return redirect("operations:approvals")
