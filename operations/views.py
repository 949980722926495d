"""Operations pages: the list, one operation with its live progress, approve, cancel, pause
and resume. Whether a button shows is decided by the same service functions that act."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from operations.flash import messages_still_true, operation_flash
from operations.fleet import children_counts
from operations.models import Operation
from operations.selectors import operation_for_user, operations_visible_to
from operations.services import (
    OperationRefusedError,
    can_approve,
    can_cancel,
    can_pause,
    operation_approve,
    operation_cancel,
    operation_pause,
    operation_resume,
)
from portal.pages import render_page
from portal.roles import APPROVE_OPERATION, VIEW_TENANT

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # login_required ran first


@require_safe
@login_required
@permission_required(VIEW_TENANT, raise_exception=True)
def operation_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    operations = operations_visible_to(request.user)
    if state in Operation.State.values:
        operations = operations.filter(state=state)
    else:
        state = ""
    page = Paginator(operations, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "state": state, "states": Operation.State.choices}
    return render_page(request, "operations/operation_list.html", context, title="Operations")


def _detail_context(request: HttpRequest, operation: Operation) -> dict[str, Any]:
    """Which buttons to offer; the services decide whether the action is allowed."""
    user = _user(request)
    children = (
        operations_visible_to(user).filter(parent=operation).order_by("id")
        if operation.children.exists()
        else None
    )
    return {
        "operation": operation,
        "steps": list(operation.steps.all()),
        "children": list(children[:200]) if children is not None else None,
        "counts": children_counts(operation) if children is not None else None,
        "can_approve": can_approve(user, operation),
        "can_cancel": can_cancel(user, operation),
        "can_pause": can_pause(user, operation) and not operation.is_paused,
        "can_resume": can_pause(user, operation) and operation.is_paused,
    }


def _detail_page(
    request: HttpRequest, operation: Operation, *, refusal: str = "", status: int = 200
) -> HttpResponse:
    context = {
        **_detail_context(request, operation),
        "refusal": refusal,
        "messages": messages_still_true(request, operation),
    }
    return render_page(
        request,
        "operations/operation_detail.html",
        context,
        title=f"Operation #{operation.pk}",
        status=status,
    )


@require_safe
@login_required
@permission_required(VIEW_TENANT, raise_exception=True)
def operation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, operation_for_user(request.user, pk))


@require_safe
@login_required
@permission_required(VIEW_TENANT, raise_exception=True)
def operation_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The detail page's live part, polled by htmx until the operation has finished."""
    operation = operation_for_user(request.user, pk)
    context = {**_detail_context(request, operation), "since": request.GET.get("since", "")}
    return render(request, "operations/_progress.html", context)


def _act(
    request: HttpRequest,
    pk: int,
    act: Callable[[Operation, User], Operation],
    said: Callable[[Operation], str],
) -> HttpResponse:
    """A button on the operation page: act through the service and say what happened; a
    refusal shows the page again with its reason (400), nothing changed."""
    operation = operation_for_user(request.user, pk)
    try:
        operation = act(operation, _user(request))
    except OperationRefusedError as exc:
        operation.refresh_from_db()
        return _detail_page(request, operation, refusal=str(exc), status=400)
    operation_flash(request, operation, said(operation))
    return redirect("operations:detail", pk=operation.pk)


@require_POST
@login_required
@permission_required(APPROVE_OPERATION, raise_exception=True)
def operation_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda operation, user: operation_approve(operation=operation, approver=user),
        lambda operation: f"Operation #{operation.pk} approved; it is queued.",
    )


def _cancelled(operation: Operation) -> str:
    if operation.is_finished:
        return f"Operation #{operation.pk} cancelled."
    return f"Cancellation of operation #{operation.pk} requested; it stops where it safely can."


@require_POST
@login_required
@permission_required(VIEW_TENANT, raise_exception=True)
def operation_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda operation, user: operation_cancel(operation=operation, by=user),
        _cancelled,
    )


@require_POST
@login_required
@permission_required(VIEW_TENANT, raise_exception=True)
def operation_pause_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda operation, user: operation_pause(operation=operation, by=user),
        lambda operation: f"Operation #{operation.pk} paused; running children go on.",
    )


@require_POST
@login_required
@permission_required(VIEW_TENANT, raise_exception=True)
def operation_resume_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda operation, user: operation_resume(operation=operation, by=user),
        lambda operation: f"Operation #{operation.pk} resumed.",
    )
