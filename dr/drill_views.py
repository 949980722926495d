"""Requesting a DR drill from the DR page (one or several tenants) or the tenant page.

POST only. The person needs the restore permission (support and admins) and may drill only
tenants they can see; a refusal says why and nothing is created."""

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

from dr.drills import DrillRefusedError, drill_request
from dr.selectors import dr_fleet_for_user
from portal.roles import REQUEST_RESTORE


class DrillForm(forms.Form):
    tenant = forms.MultipleChoiceField(label="Tenants", choices=[])
    reason = forms.CharField(max_length=500, label="Reason")
    ticket = forms.CharField(max_length=50, required=False, label="Ticket")
    back = forms.ChoiceField(required=False, choices=[("", "DR page"), ("tenant", "tenant page")])

    def __init__(self, *args: object, slugs: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["tenant"].choices = [(s, s) for s in slugs]  # type: ignore[attr-defined]


@require_POST
@login_required
def drill_request_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not isinstance(user, User) or not user.has_perm(REQUEST_RESTORE):
        raise PermissionDenied("You do not have permission to run DR drills.")
    visible = dr_fleet_for_user(user)
    form = DrillForm(request.POST, slugs=list(visible.values_list("slug", flat=True)))
    if not form.is_valid():
        problems = "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items())
        messages.error(request, f"The drill was not requested: {problems}")
        return redirect(reverse("dr:readiness"))
    data = form.cleaned_data
    tenants = list(visible.filter(slug__in=data["tenant"]).order_by("dr_tier", "slug"))
    back = (
        reverse("tenants:detail", args=[tenants[0].slug]) + "#dr-heading"
        if data["back"] == "tenant" and len(tenants) == 1
        else reverse("dr:readiness")
    )
    try:
        operation = drill_request(
            tenants=tenants, user=user, reason=data["reason"], ticket=data["ticket"]
        )
    except DrillRefusedError as exc:
        messages.error(request, f"The drill was not requested: {exc.message}")
        return redirect(back)
    messages.success(request, f"DR drill requested as operation #{operation.pk}.")
    return redirect(reverse("operations:detail", args=[operation.pk]))
