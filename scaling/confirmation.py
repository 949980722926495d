"""The plan → signed confirmation flow both scaling pages share (a tenant's plan or database,
a pool). POST of the form shows the plan read from Azure with a signed copy of the request
(15 minutes, this person and this subject only); the confirmation plans again from Azure, so
what is requested is what is true now, and files the operation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect

from operations.models import Operation
from operations.services import OperationRefusedError
from portal.azure.errors import AzureError
from scaling.services import ScalingPlan

MAX_AGE_SECONDS = 900


@dataclass(frozen=True)
class PlanFlow:
    """`subject`: the name and value the signed plan is bound to ("tenant": slug, "pool": pk);
    `page(context, status)` renders the page; `plan(data)` reads the plan from Azure."""

    salt: str
    subject: tuple[str, object]
    page: Callable[[dict[str, Any], int], HttpResponse]
    plan: Callable[[dict[str, Any]], ScalingPlan]


def plan_shown(request: HttpRequest, flow: PlanFlow, form: forms.Form) -> HttpResponse:
    """The page with the plan and its signed confirmation, or the form's or Azure's refusal."""
    if not form.is_valid():
        return flow.page({"form": form}, 400)
    try:
        plan = flow.plan(form.cleaned_data)
    except (OperationRefusedError, AzureError) as exc:
        return flow.page({"form": form, "refusal": str(exc)}, 400)
    key, value = flow.subject
    signed = signing.dumps(
        {"data": form.cleaned_data, "user": request.user.pk, key: value}, salt=flow.salt
    )
    return flow.page({"form": form, "plan": plan, "signed": signed}, 200)


def plan_confirmed(
    request: HttpRequest,
    flow: PlanFlow,
    *,
    file: Callable[[dict[str, Any], ScalingPlan], Operation],
    form: Callable[[dict[str, Any]], forms.Form],
) -> HttpResponse:
    """Plan the signed request again and `file` it; its operation's page, or the refusal."""
    try:
        payload = signing.loads(
            request.POST.get("plan", ""), salt=flow.salt, max_age=MAX_AGE_SECONDS
        )
    except signing.BadSignature:
        return HttpResponseBadRequest("The plan expired or was changed; plan it again.")
    key, value = flow.subject
    if payload.get("user") != request.user.pk or payload.get(key) != value:
        return HttpResponseBadRequest("This plan was made for someone or something else.")
    data = payload["data"]
    try:
        operation = file(data, flow.plan(data))
    except (OperationRefusedError, AzureError) as exc:
        return flow.page({"form": form(data), "refusal": str(exc)}, 400)
    return redirect("operations:detail", operation.pk)
