"""The rotate-key page: say why, and the rotation is requested (a second admin approves)."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from keys.inventory import key_inventory_request
from keys.services import key_rotation_request
from operations.services import OperationRefusedError
from portal.azure.errors import AzureError
from portal.pages import render_page
from portal.roles import ROTATE_KEY
from tenants.selectors import tenant_for_user


class RotationForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    ticket = forms.CharField(required=False, max_length=100)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@permission_required(ROTATE_KEY, raise_exception=True)
def rotate_key(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = tenant_for_user(request.user, slug)
    if request.method != "POST":
        key_inventory_request(tenant=tenant)
    form = RotationForm(request.POST or None)
    refusal = ""
    if request.method == "POST" and form.is_valid():
        try:
            operation = key_rotation_request(
                tenant=tenant,
                requested_by=cast(User, request.user),
                reason=form.cleaned_data["reason"],
                ticket=form.cleaned_data["ticket"],
            )
        except (OperationRefusedError, AzureError) as exc:
            refusal = str(exc)
        else:
            return redirect("operations:detail", operation.pk)
    return render_page(
        request,
        "keys/rotate.html",
        {"tenant": tenant, "form": form, "refusal": refusal},
        title=f"Rotate the TDE key of {tenant.display_name}",
        status=400 if request.method == "POST" else 200,
    )
