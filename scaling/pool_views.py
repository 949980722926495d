"""The pool scale page: capacity and per-database min/max → the plan (read from Azure) → a
signed confirmation that re-plans and files a `pool_scale` operation. A pool is shared, so
only admins who see every tenant may act on one (as `manage.py scale_pool`)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods, require_POST

from monitoring.models import PoolSnapshot
from monitoring.selectors import pools_for_user
from portal.pages import render_page
from portal.roles import SCALE_TENANT
from scaling.confirmation import PlanFlow, plan_confirmed, plan_shown
from scaling.services import ScalingPlan, pool_scale_plan, pool_scale_request, scaling_limits
from tenants.selectors import sees_every_tenant, tenants_in_pool

SALT = "scaling.pool-confirm"


def _pool_for_user(request: HttpRequest, pk: int) -> PoolSnapshot:
    if not sees_every_tenant(request.user):
        raise PermissionDenied("A pool is shared: only people who see every tenant act on one.")
    try:
        return pools_for_user(request.user).get(pk=pk)
    except PoolSnapshot.DoesNotExist as exc:
        raise Http404(f"No pool #{pk}.") from exc


class PoolScaleForm(forms.Form):
    capacity = forms.TypedChoiceField(coerce=int, label="Capacity")
    per_db_min = forms.FloatField(required=False, min_value=0, label="Per database min")
    per_db_max = forms.FloatField(required=False, min_value=0, label="Per database max")
    override = forms.CharField(required=False, max_length=500, label="Below the 24 h peak because")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

    def __init__(self, *args: Any, vcore: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = scaling_limits()
        sizes = limits.vcore_pool_capacities if vcore else limits.dtu_pool_capacities
        self.fields["capacity"].choices = [(s, str(s)) for s in sizes]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("per_db_min"), data.get("per_db_max")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError("The per-database min is above the max.")
        if not str(data.get("reason", "")).strip():
            self.add_error("reason", "Say why: it goes into the audit trail.")
        return data


def _is_vcore(pool: PoolSnapshot) -> bool:
    return pool.sku_name.startswith(("GP_", "BC_", "HS_"))


def _plan(pool: PoolSnapshot, data: dict[str, Any]) -> ScalingPlan:
    return pool_scale_plan(
        pool_id=pool.pool_id,
        target_capacity=int(data["capacity"]),
        per_database_min=data.get("per_db_min"),
        per_database_max=data.get("per_db_max"),
        override_reason=data.get("override") or "",
    )


def _flow(request: HttpRequest, pool: PoolSnapshot) -> PlanFlow:
    def page(context: dict[str, Any], status: int) -> HttpResponse:
        tenants = tenants_in_pool(pool.pool_id).order_by("slug")
        return render_page(
            request,
            "scaling/pool_scale.html",
            {"pool": pool, "tenants": tenants, "vcore": _is_vcore(pool), **context},
            title=f"Scale pool {pool.name}",
            status=status,
        )

    return PlanFlow(
        salt=SALT, subject=("pool", pool.pk), page=page, plan=lambda data: _plan(pool, data)
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@permission_required(SCALE_TENANT, raise_exception=True)
def pool_scale(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the form with the pool as last read. POST: the plan to confirm."""
    pool = _pool_for_user(request, pk)
    vcore = _is_vcore(pool)
    if request.method != "POST":
        form = PoolScaleForm(initial={"capacity": pool.capacity}, vcore=vcore)
        return _flow(request, pool).page({"form": form}, 200)
    return plan_shown(request, _flow(request, pool), PoolScaleForm(request.POST, vcore=vcore))


@require_POST
@login_required
@permission_required(SCALE_TENANT, raise_exception=True)
def pool_scale_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    pool = _pool_for_user(request, pk)
    return plan_confirmed(
        request,
        _flow(request, pool),
        file=lambda data, plan: pool_scale_request(
            requested_by=cast(User, request.user), reason=data["reason"], plan=plan
        ),
        form=lambda data: PoolScaleForm(data, vcore=_is_vcore(pool)),
    )
