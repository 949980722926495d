"""The monitoring pages: fleet dashboard (the landing page), pools, Defender alerts, posture.

Every page reads snapshots through `monitoring.selectors` and never calls Azure.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Count, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from monitoring.dashboard import fleet_dashboard
from monitoring.models import DefenderAlert, HealthStatus
from monitoring.pool_usage import pool_row
from monitoring.selectors import (
    alerts_for_user,
    pools_for_user,
    posture_failures_for_user,
    posture_read_for_user,
    visible_slugs,
)
from monitoring.services import RefreshRefusedError, fleet_refresh_request, tenant_refresh_request
from monitoring.tasks import enqueue_refresh_run
from monitoring.triage import TriageRefused, alert_triage
from portal.pages import render_page
from portal.roles import TRIAGE_ALERT, VIEW_TENANT
from tenants.selectors import tenant_for_user

SEVERITY_RANK = Case(
    *(
        When(severity=severity, then=Value(rank))
        for rank, severity in enumerate(DefenderAlert.Severity.values)
    ),
    default=Value(9),
    output_field=IntegerField(),
)

# (sort key or None, heading) for the dashboard's columns.
FLEET_COLUMNS = (
    ("tenant", "Tenant"),
    ("status", "Status"),
    (None, "App"),
    (None, "Database"),
    ("pool", "Pool use"),
    ("backups", "Latest restore point"),
    ("alerts", "Open alerts"),
    ("posture", "Posture"),
    ("recommendations", "Recommendations"),
    (None, "DR"),
    ("as_of", "As of"),
)


def fleet_dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """The landing page's context (rendered by the admin site's index)."""
    dashboard = fleet_dashboard(request.user, request.GET)
    return {
        "dashboard": dashboard,
        "columns": FLEET_COLUMNS,
        "status_counts": [
            (status.value, status.label, dashboard.counts.get(status.value, 0))
            for status in HealthStatus
        ],
    }


def fleet_results(request: HttpRequest) -> TemplateResponse:
    """The dashboard's table alone, which htmx polls so the page stays current."""
    return TemplateResponse(
        request, "monitoring/_fleet_results.html", fleet_dashboard_context(request)
    )


@require_safe
@login_required
def pools(request: HttpRequest) -> HttpResponse:
    """Every elastic pool hosting one of the person's tenants: use, headroom, noisy neighbours."""
    _require_view(request)
    visible = visible_slugs(request.user)
    rows = [pool_row(pool, visible) for pool in pools_for_user(request.user).order_by("name")]
    return render_page(request, "monitoring/pools.html", {"pools": rows}, title="Elastic pools")


ALERT_PAGE_SIZE = 50


class AlertFilterForm(forms.Form):
    severity = forms.ChoiceField(
        required=False, choices=[("", "Any severity"), *DefenderAlert.Severity.choices]
    )
    status = forms.ChoiceField(
        required=False,
        choices=[("open", "Open"), ("", "Any status"), *DefenderAlert.Status.choices],
    )
    tenant = forms.SlugField(required=False)


@require_safe
@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    """Defender alerts across the person's tenants, by severity and status."""
    _require_view(request)
    params = request.GET.copy()
    params.setdefault("status", "open")
    form = AlertFilterForm(params)
    data = form.cleaned_data if form.is_valid() else {}
    found = alerts_for_user(request.user)
    if data.get("severity"):
        found = found.filter(severity=data["severity"])
    if data.get("status") == "open":
        found = found.filter(status__in=DefenderAlert.OPEN_STATUSES)
    elif data.get("status"):
        found = found.filter(status=data["status"])
    if data.get("tenant"):
        found = found.filter(tenant__slug=data["tenant"])
    page = Paginator(found.order_by(SEVERITY_RANK.asc(), "-generated_at"), ALERT_PAGE_SIZE)
    open_by_severity = dict(
        alerts_for_user(request.user)
        .filter(status__in=DefenderAlert.OPEN_STATUSES)
        .values_list("severity")
        .annotate(n=Count("pk"))
        .order_by()
    )
    context = {
        "form": form,
        "open_by_severity": [
            (value, label, open_by_severity.get(value, 0))
            for value, label in DefenderAlert.Severity.choices
        ],
        "page": page.get_page(request.GET.get("page")),
        "can_triage": request.user.has_perm(TRIAGE_ALERT),
        "query": _without(params, "page"),
    }
    return render_page(request, "monitoring/alerts.html", context, title="Defender alerts")


@require_POST
@login_required
def alert_triage_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Dismiss or resolve one alert with a reason (support and admins)."""
    try:
        alert = alert_triage(
            actor=request.user,
            alert_pk=pk,
            change=request.POST.get("action", ""),
            reason=request.POST.get("reason", ""),
        )
    except TriageRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"“{alert.display_name}” is now {alert.get_status_display().lower()}."
        )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("monitoring:alerts")
    return redirect(back or reverse("monitoring:alerts"))


@require_safe
@login_required
def posture(request: HttpRequest) -> HttpResponse:
    """Where the fleet differs from the published security statement."""
    _require_view(request)
    failures = list(posture_failures_for_user(request.user))
    by_check: dict[str, int] = {}
    for check in failures:
        by_check[check.title] = by_check.get(check.title, 0) + 1
    context = {
        "failures": failures,
        "by_check": sorted(by_check.items(), key=lambda item: (-item[1], item[0])),
        "tenants_failing": len({check.tenant_id for check in failures}),
        "posture_read": bool(failures) or posture_read_for_user(request.user),
    }
    return render_page(request, "monitoring/posture.html", context, title="Posture")


def _require_view(request: HttpRequest) -> None:
    if not request.user.has_perm(VIEW_TENANT):
        raise PermissionDenied("You do not have permission to view the fleet.")


def _without(params: QueryDict, key: str) -> str:
    copy = params.copy()
    copy.pop(key, None)
    return copy.urlencode()


@require_POST
@login_required
def refresh_fleet(request: HttpRequest) -> HttpResponse:
    """ "Refresh now" for the whole fleet's hot sources (rate-limited and audited by the service)."""
    _require_view(request)
    try:
        fleet_refresh_request(requested_by=_person(request), enqueue=enqueue_refresh_run)
    except RefreshRefusedError as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(request, "Refreshing the fleet: the table updates as the data arrives.")
    return redirect(reverse("admin:index"))


@require_POST
@login_required
def refresh_tenant(request: HttpRequest, slug: str) -> HttpResponse:
    """ "Refresh now" for every source of one tenant."""
    tenant = tenant_for_user(request.user, slug)
    try:
        tenant_refresh_request(
            tenant=tenant, requested_by=_person(request), enqueue=enqueue_refresh_run
        )
    except RefreshRefusedError as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(request, f"Refreshing {tenant.slug}: reload in a moment.")
    return redirect(reverse("tenants:detail", args=[tenant.slug]))


def _person(request: HttpRequest) -> User:
    if not isinstance(request.user, User):
        raise PermissionDenied("Sign in first.")
    return request.user
