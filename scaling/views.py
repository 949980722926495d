"""The tenant's scaling page: scale its plan, or move its database (another pool on its server,
or out to a single-database objective). POST shows the plan with the numbers behind it; the
confirmation re-plans from Azure (nothing stale is requested) and files the operation."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods, require_POST

from operations.models import Operation
from portal.azure.errors import AzureError
from portal.pages import render_page
from portal.roles import SCALE_TENANT
from scaling.confirmation import PlanFlow, plan_confirmed, plan_shown
from scaling.rules import plan_sku_label
from scaling.services import (
    ScalingPlan,
    database_move_plan,
    database_move_request,
    plan_scale_plan,
    plan_scale_request,
    scaling_limits,
    scaling_now,
)
from tenants.models import Tenant
from tenants.selectors import active_copy, tenant_for_user, tenants_on_server

SALT = "scaling.confirm"


def _pools_beside(tenant: Tenant) -> list[tuple[str, str]]:
    """The other pools the catalogue knows on the server the tenant's database is on now (the
    paired server's after a failover): where the tenants on that server run."""
    active = active_copy(tenant)
    pools = {t.active.elastic_pool_id for t in tenants_on_server(active.sql_server_id)}
    return sorted(
        (p, p.rstrip("/").rsplit("/", 1)[-1])
        for p in pools
        if p and p.lower() != active.elastic_pool_id.lower()
    )


class ScaleForm(forms.Form):
    what = forms.ChoiceField(
        choices=[("plan", "Scale the App Service plan"), ("move", "Move the database")],
        widget=forms.RadioSelect,
    )
    sku = forms.ChoiceField(required=False, label="Plan SKU")
    instances = forms.IntegerField(required=False, min_value=1, label="Instances")
    to_pool = forms.ChoiceField(required=False, label="Move into pool")
    to_sku = forms.ChoiceField(required=False, label="…or out to objective")
    override = forms.CharField(required=False, max_length=500, label="Below the 24 h peak because")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = scaling_limits()
        self.fields["sku"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (sku, plan_sku_label(sku, limits)) for sku in limits.plan_skus
        ]
        self.fields["to_pool"].choices = [("", "—")] + _pools_beside(tenant)  # type: ignore[attr-defined]
        self.fields["to_sku"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (s, s) for s in limits.single_database_skus
        ]

    def groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The fields under a heading each: which change, its choices, and why."""
        named = [
            ("Change", ("what",)),
            ("Scale the App Service plan", ("sku", "instances")),
            ("…or move the database", ("to_pool", "to_sku")),
            ("Why", ("override", "reason")),
        ]
        return [(title, [self[name] for name in names]) for title, names in named]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("what") == "plan" and not (data.get("sku") and data.get("instances")):
            raise forms.ValidationError("Choose the plan's SKU and instance count.")
        if data.get("what") == "move" and bool(data.get("to_pool")) == bool(data.get("to_sku")):
            raise forms.ValidationError("Choose a pool, or an objective to move out to (one).")
        return data


def _plan(tenant: Tenant, data: dict[str, Any]) -> ScalingPlan:
    if data["what"] == "plan":
        return plan_scale_plan(
            tenant=tenant,
            target_sku=data["sku"],
            target_instances=int(data["instances"]),
            override_reason=data.get("override", ""),
        )
    return database_move_plan(
        tenant=tenant,
        to_pool_id=data.get("to_pool", ""),
        sku_name=data.get("to_sku", ""),
        override_reason=data.get("override", ""),
    )


def _now(tenant: Tenant) -> dict[str, Any]:
    """The plan and database as Azure has them now, or why they could not be read (the form
    still works: the plan reads Azure again)."""
    try:
        return {"now": scaling_now(tenant=tenant)}
    except AzureError as exc:
        return {"now_error": str(exc)}


def _flow(request: HttpRequest, tenant: Tenant) -> PlanFlow:
    return PlanFlow(
        salt=SALT,
        subject=("tenant", tenant.slug),
        page=lambda context, status: render_page(
            request,
            "scaling/scale.html",
            {"tenant": tenant, **_now(tenant), **context},
            title=f"Scale {tenant.display_name}",
            status=status,
        ),
        plan=lambda data: _plan(tenant, data),
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@permission_required(SCALE_TENANT, raise_exception=True)
def scale(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the form with the catalogue's current placement. POST: the plan to confirm."""
    tenant = tenant_for_user(request.user, slug)
    flow = _flow(request, tenant)
    if request.method != "POST":
        # A rebalancing suggestion links here with the move filled in.
        initial = {k: request.GET[k] for k in ("what", "to_pool", "reason") if k in request.GET}
        # Snapshots keep pool ids lower-case; the choice is the catalogue's spelling.
        wanted = initial.get("to_pool", "").lower()
        initial["to_pool"] = next((p for p, _ in _pools_beside(tenant) if p.lower() == wanted), "")
        return flow.page({"form": ScaleForm(initial=initial, tenant=tenant)}, 200)
    return plan_shown(request, flow, ScaleForm(request.POST, tenant=tenant))


@require_POST
@login_required
@permission_required(SCALE_TENANT, raise_exception=True)
def scale_confirm(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = tenant_for_user(request.user, slug)

    def file(data: dict[str, Any], plan: ScalingPlan) -> Operation:
        request_fn = plan_scale_request if data["what"] == "plan" else database_move_request
        return request_fn(
            tenant=tenant, requested_by=cast(User, request.user), reason=data["reason"], plan=plan
        )

    return plan_confirmed(
        request,
        _flow(request, tenant),
        file=file,
        form=lambda data: ScaleForm(data, tenant=tenant),
    )
