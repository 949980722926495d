"""Notification pages: each person's channels, and (for admins) what was sent."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_safe

from notifications.forms import PreferenceForm
from notifications.models import Delivery, NotificationPreference
from notifications.services import PreferenceRefusedError, notification_preference_update
from portal.pages import render_page
from portal.roles import VIEW_NOTIFICATIONS_SENT, VIEW_TENANT

PAGE_SIZE = 50


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@permission_required(VIEW_TENANT, raise_exception=True)
def preferences(request: HttpRequest) -> HttpResponse:
    person = cast(User, request.user)
    current = NotificationPreference.objects.filter(person=person).first()
    current = current or NotificationPreference(person=person)
    form = PreferenceForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            notification_preference_update(
                person=person,
                by_email=form.cleaned_data["by_email"],
                by_teams=form.cleaned_data["by_teams"],
                teams_webhook_url=form.cleaned_data["teams_webhook_url"],
            )
        except PreferenceRefusedError as exc:
            form.add_error(exc.field, str(exc))
        else:
            messages.success(request, "Your notification channels are saved.")
            return redirect("notifications:preferences")
    context = {"form": form, "email": person.email}
    status = 400 if form.errors else 200
    return render_page(
        request, "notifications/preferences.html", context, title="Notifications", status=status
    )


@require_safe
@login_required
@permission_required(VIEW_NOTIFICATIONS_SENT, raise_exception=True)
def sent(request: HttpRequest) -> HttpResponse:
    deliveries = Delivery.objects.all()
    status = request.GET.get("status", "")
    if status in Delivery.Status.values:
        deliveries = deliveries.filter(status=status)
    else:
        status = ""
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "status": status, "statuses": Delivery.Status.choices}
    return render_page(request, "notifications/sent.html", context, title="Notifications sent")
