"""The restore pages: the form, the pre-flight plan to confirm, and the confirmation itself."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from backups.forms import Confirmation, RestoreForm, reading_value
from backups.models import RestoreSnapshot
from backups.restore_time import preview_of
from backups.selectors import restore_snapshot_for
from backups.services import (
    RestoreRefusedError,
    restore_plan,
    restore_request,
    restore_snapshot_request,
)
from portal.pages import render_page
from portal.roles import REQUEST_RESTORE
from portal.times import portal_zone
from tenants.models import Tenant
from tenants.selectors import tenant_for_user


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # login_required ran first


def _form_page(
    request: HttpRequest,
    tenant: Tenant,
    form: RestoreForm,
    snapshot: RestoreSnapshot | None,
    *,
    refusal: RestoreRefusedError | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        **_preview_context(form),
        "tenant": tenant,
        "form": form,
        "snapshot": snapshot,
        "latest_lag_minutes": settings.RESTORE_LATEST_LAG_MINUTES,
        "refusal": refusal,
        "readings": [
            (reading_value(reading), reading) for reading in (refusal.readings if refusal else ())
        ],
    }
    return render_page(
        request,
        "backups/restore_form.html",
        context,
        title=f"Restore {tenant.display_name}",
        status=status,
    )


def _preview_context(form: RestoreForm) -> dict[str, str]:
    """The time's preview as the page is drawn (htmx keeps it current as the person types)."""
    values = form.data if form.is_bound else form.initial
    preview, error = preview_of(
        str(values.get("when") or ""), zone=portal_zone(), in_utc=values.get("zone") == "utc"
    )
    return {"preview": preview, "preview_error": error}


def _lists_backup(snapshot: RestoreSnapshot | None, backup_id: str) -> bool:
    if not backup_id:
        return True
    return snapshot is not None and any(
        b.get("id") == backup_id for b in snapshot.long_term_backups
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@permission_required(REQUEST_RESTORE, raise_exception=True)
def restore(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the form (and a fresh restore window is asked for). POST: check it and show the plan."""
    tenant = tenant_for_user(request.user, slug)
    if request.method != "POST":
        requested = restore_snapshot_request(tenant=tenant)
        return _form_page(request, tenant, RestoreForm(snapshot=requested), requested)

    snapshot = restore_snapshot_for(tenant)
    reading = request.POST.get("reading")
    if reading:
        # A UTC reading (offered after a daylight-saving refusal, or a shortcut on the tenant
        # page): fill the form in with it. A long-term backup the snapshot does not list yet
        # is asked for, and the panel preselects it once collected.
        initial = {**request.POST.dict(), "when": reading, "zone": "utc"}
        if not _lists_backup(snapshot, initial.get("long_term_backup_id", "")):
            snapshot = restore_snapshot_request(tenant=tenant)
        return _form_page(
            request, tenant, RestoreForm(initial=initial, snapshot=snapshot), snapshot
        )

    form = RestoreForm(request.POST, snapshot=snapshot)
    if not form.is_valid():
        return _form_page(request, tenant, form, snapshot, status=400)
    try:
        plan = restore_plan(tenant=tenant, user=_user(request), request=form.restore_request())
    except RestoreRefusedError as exc:
        return _form_page(request, tenant, form, snapshot, refusal=exc, status=400)
    confirmation = Confirmation.of(
        plan, reason=form.cleaned_data["reason"], ticket=form.cleaned_data["ticket"]
    )
    return _confirm_page(request, tenant, confirmation)


def _confirm_page(
    request: HttpRequest,
    tenant: Tenant,
    confirmation: Confirmation,
    *,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "tenant": tenant,
        "confirmation": confirmation,
        "signed": confirmation.sign(tenant=tenant, user=_user(request)),
        "refusal": refusal,
    }
    return render_page(
        request,
        "backups/restore_confirm.html",
        context,
        title=f"Confirm the restore of {tenant.display_name}",
        status=status,
    )


@require_POST
@login_required
@permission_required(REQUEST_RESTORE, raise_exception=True)
def restore_confirm(request: HttpRequest, slug: str) -> HttpResponse:
    """The person typed the slug: re-check the signed plan and request the operation."""
    tenant = tenant_for_user(request.user, slug)
    try:
        confirmation = Confirmation.unsign(
            request.POST.get("plan", ""), tenant=tenant, user=_user(request)
        )
    except signing.BadSignature:
        return render_page(
            request,
            "backups/restore_expired.html",
            {"tenant": tenant},
            title="This confirmation has expired",
            status=400,
        )
    try:
        operation = restore_request(
            tenant=tenant,
            user=_user(request),
            request=confirmation.request,
            reason=confirmation.reason,
            ticket=confirmation.ticket,
            confirm_slug=request.POST.get("confirm_slug", ""),
        )
    except RestoreRefusedError as exc:
        return _confirm_page(request, tenant, confirmation, refusal=exc.message, status=400)
    return redirect("operations:detail", pk=operation.pk)


@require_safe
@login_required
@permission_required(REQUEST_RESTORE, raise_exception=True)
def restore_snapshot(request: HttpRequest, slug: str) -> HttpResponse:
    """The form's restore-window panel, polled by htmx until the worker has collected it."""
    tenant = tenant_for_user(request.user, slug)
    snapshot = restore_snapshot_for(tenant)
    context = {
        "tenant": tenant,
        "snapshot": snapshot,
        "latest_lag_minutes": settings.RESTORE_LATEST_LAG_MINUTES,
        # The backup a shortcut chose stays chosen while the panel is polled.
        "form": RestoreForm(
            initial={"long_term_backup_id": request.GET.get("long_term_backup_id", "")},
            snapshot=snapshot,
        ),
    }
    return render(request, "backups/_snapshot.html", context)


@require_safe
@login_required
@permission_required(REQUEST_RESTORE, raise_exception=True)
def restore_time_preview(request: HttpRequest, slug: str) -> HttpResponse:
    """What the typed time means, in the portal's zone and in UTC (htmx, as it is typed)."""
    tenant_for_user(request.user, slug)  # who may see the form may see its preview
    preview, error = preview_of(
        request.GET.get("when", ""),
        zone=portal_zone(),
        in_utc=request.GET.get("zone") == "utc",
    )
    context = {"preview": preview, "preview_error": error}
    return render(request, "backups/_when_preview.html", context)
