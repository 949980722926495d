"""Requesting a repatriation from the DR page (chosen tenants, or every tenant of a tier that
runs away from home) or from the tenant page's "runs in" banner.

POST only. Admins only (the kind's permission); a person brings home only tenants they can
see. A refusal says why and nothing is created."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from dr.repatriation import RepatriationRefusedError, repatriation_request
from dr.selectors import tenants_away_for_user
from portal.roles import APPROVE_OPERATION
from tenants.models import Tenant


class RepatriationForm(forms.Form):
    tenant = forms.MultipleChoiceField(label="Tenants", choices=[], required=False)
    tier = forms.TypedChoiceField(
        label="Tier", required=False, coerce=int, empty_value=None, choices=Tenant.DrTier.choices
    )
    reason = forms.CharField(max_length=500, label="Reason")
    ticket = forms.CharField(max_length=50, required=False, label="Ticket")
    back = forms.ChoiceField(required=False, choices=[("", "DR page"), ("tenant", "tenant page")])

    def __init__(self, *args: object, slugs: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["tenant"].choices = [(s, s) for s in slugs]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if bool(data.get("tenant")) == (data.get("tier") is not None):
            raise forms.ValidationError("Choose tenants, or a tier, not both.")
        return data


def _problems(form: RepatriationForm) -> str:
    return "; ".join(
        f"{'' if k == '__all__' else k + ': '}{' '.join(str(e) for e in v)}"
        for k, v in form.errors.items()
    )


@require_POST
@login_required
def repatriation_request_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not isinstance(user, User) or not user.has_perm(APPROVE_OPERATION):
        raise PermissionDenied("Only admins may bring tenants home.")
    away = tenants_away_for_user(user)
    form = RepatriationForm(request.POST, slugs=list(away.values_list("slug", flat=True)))
    if not form.is_valid():
        messages.error(request, f"Nothing was requested: {_problems(form)}")
        return redirect(reverse("dr:readiness"))
    data = form.cleaned_data
    chosen = (
        away.filter(slug__in=data["tenant"])
        if data["tenant"]
        else away.filter(dr_tier=data["tier"])
    )
    tenants = list(chosen.order_by("dr_tier", "slug"))
    back = (
        reverse("tenants:detail", args=[tenants[0].slug])
        if data["back"] == "tenant" and len(tenants) == 1
        else reverse("dr:readiness")
    )
    if not tenants:
        messages.error(
            request, f"Nothing was requested: no tenant of tier {data['tier']} runs away."
        )
        return redirect(back)
    try:
        operation = repatriation_request(
            tenants=tenants, user=user, reason=data["reason"], ticket=data["ticket"]
        )
    except RepatriationRefusedError as exc:
        messages.error(request, f"Nothing was requested: {exc.message}")
        return redirect(back)
    messages.success(request, f"Repatriation requested as operation #{operation.pk}.")
    return redirect(reverse("operations:detail", args=[operation.pk]))
