"""The DR page: every tenant's readiness for a failover to Australia Southeast, by tier, each
gap in words. Reads the rows `dr.services.readiness_refresh` wrote; never calls Azure."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from dr.failover import REGION_FAILOVER
from dr.selectors import (
    dr_fleet_for_user,
    last_drill,
    last_repatriation,
    tenants_away_for_user,
    tier_counts,
    with_last_drill,
)
from operations.selectors import operations_visible_to
from portal.pages import render_page
from portal.roles import APPROVE_OPERATION, REQUEST_RESTORE, VIEW_TENANT
from tenants.models import Tenant

PAGE_SIZE = 100


class ReadinessFilterForm(forms.Form):
    show = forms.ChoiceField(
        required=False,
        label="Show",
        choices=[("", "Every tenant"), ("gaps", "With gaps"), ("ready", "Ready")],
    )
    tier = forms.TypedChoiceField(
        required=False,
        label="Tier",
        coerce=int,
        empty_value=None,
        choices=[("", "Any tier"), *Tenant.DrTier.choices],
    )


@require_safe
@login_required
def readiness(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(VIEW_TENANT):
        raise PermissionDenied("You do not have permission to view the fleet.")
    fleet = dr_fleet_for_user(request.user)
    form = ReadinessFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    shown = fleet
    if data.get("show") == "gaps":
        shown = shown.exclude(dr_readiness__ready=True)
    elif data.get("show") == "ready":
        shown = shown.filter(dr_readiness__ready=True)
    if data.get("tier"):
        shown = shown.filter(dr_tier=data["tier"])
    ordered = with_last_drill(shown.order_by("dr_tier", "slug"))
    page = Paginator(ordered, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    # Tenants running away from home: few (a failover's worth at most), listed for "Bring home".
    away = list(tenants_away_for_user(request.user))
    context = {
        "last_drill": last_drill(fleet),
        "can_drill": request.user.has_perm(REQUEST_RESTORE),
        "drillable": fleet.filter(dr_readiness__ready=True).order_by("dr_tier", "slug"),
        "form": form,
        "tiers": tier_counts(fleet),
        "page": page,
        "query": query.urlencode(),
        "away": away,
        "away_count": len(away),
        "last_repatriation": last_repatriation(fleet),
        "can_repatriate": request.user.has_perm(APPROVE_OPERATION),
        "latest_failover": operations_visible_to(request.user)
        .filter(kind=REGION_FAILOVER)
        .order_by("-id")
        .first(),
    }
    return render_page(request, "dr/readiness.html", context, title="Disaster recovery")
