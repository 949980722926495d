"""Region failover pages: declaring the outage (with Resource Health's evidence) and the
failover's progress by tier. Approval, pause and cancel are the operations pages' buttons."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from dr.failover import REGION_FAILOVER, tier_progress
from dr.outage import HOME_REGION, REGION_LABELS, outage_evidence
from dr.services import failover_declare
from operations.fleet import children_counts
from operations.models import Operation
from operations.selectors import operation_for_user, operations_visible_to
from operations.services import OperationRefusedError, can_approve, can_cancel, can_pause
from portal.pages import render_page
from portal.roles import APPROVE_OPERATION, VIEW_TENANT


class DeclareForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why the region is being failed over (kept in the audit trail).",
    )
    ticket = forms.CharField(required=False, max_length=100)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@permission_required(APPROVE_OPERATION, raise_exception=True)
def failover_declare_view(request: HttpRequest) -> HttpResponse:
    form = DeclareForm(request.POST or None)
    refusal = ""
    if request.method == "POST" and form.is_valid():
        try:
            operation = failover_declare(
                region=HOME_REGION,
                reason=form.cleaned_data["reason"],
                ticket=form.cleaned_data["ticket"],
                declared_by=cast(User, request.user),
            )
        except OperationRefusedError as exc:
            refusal = str(exc)
        else:
            messages.success(
                request,
                f"Failover #{operation.pk} requested; a second admin must approve it.",
            )
            return redirect("dr:failover", pk=operation.pk)
    context = {
        "form": form,
        "refusal": refusal,
        "evidence": outage_evidence(HOME_REGION),
        "region_label": REGION_LABELS[HOME_REGION],
        "in_progress": operations_visible_to(request.user)
        .filter(kind=REGION_FAILOVER, state__in=Operation.ACTIVE_STATES)
        .first(),
    }
    status = 400 if refusal or (request.method == "POST" and not form.is_valid()) else 200
    return render_page(
        request, "dr/failover_declare.html", context, title="Declare a region outage", status=status
    )


def _progress_context(request: HttpRequest, pk: int) -> dict[str, Any]:
    operation = operation_for_user(request.user, pk)
    if operation.kind != REGION_FAILOVER:
        raise Http404("Not a region failover.")
    user = request.user
    failed = (
        operation.children.filter(state__in=(Operation.State.FAILED, Operation.State.CANCELLED))
        .select_related("tenant")
        .order_by("tenant__dr_tier", "subject_label")
    )
    counts = children_counts(operation)
    return {
        "operation": operation,
        "counts": counts,
        "projected_finish": timezone.now() + counts.projected_remaining
        if counts.projected_remaining and not operation.is_finished
        else None,
        "tiers": tier_progress(operation),
        "failed": list(failed[:200]),
        "refused": operation.checkpoint.get("children_refused", []),
        "can_approve": can_approve(user, operation),
        "can_cancel": can_cancel(user, operation),
        "can_pause": can_pause(user, operation) and not operation.is_paused,
        "can_resume": can_pause(user, operation) and operation.is_paused,
    }


@require_safe
@login_required
@permission_required(VIEW_TENANT, raise_exception=True)
def failover_progress_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The page, or (for htmx) its live part alone."""
    context = _progress_context(request, pk)
    if getattr(request, "htmx", False):
        return render(request, "dr/_failover_progress.html", context)
    return render_page(
        request, "dr/failover_progress.html", context, title=f"Region failover #{pk}"
    )
