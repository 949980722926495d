"""The portal's shell: Django admin's look, branded, with the fleet on its landing page."""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from monitoring.views import fleet_dashboard_context, fleet_results
from portal.views import sign_out


def _refuse_unless_break_glass(request: HttpRequest) -> None:
    """Staff have no portal password (Entra ID holds their credentials); only the break-glass
    account has one to change."""
    name = settings.PORTAL_BREAK_GLASS_USERNAME
    if not name or request.user.get_username() != name:
        raise PermissionDenied("Passwords are managed in Entra ID.")


ViewT = TypeVar("ViewT", bound=Callable[..., HttpResponseBase])


class FleetwiseAdminSite(admin.AdminSite):
    site_header = "Fleetwise Ops"
    site_title = "Fleetwise Ops"
    index_title = "Fleet"
    # The fleet dashboard (monitoring app) is the landing page for every role.
    index_template = "monitoring/fleet_dashboard.html"

    def admin_view(self, view: ViewT, cacheable: bool = False) -> ViewT:
        """Signed-in people without a portal role get a 403 (audited), not a sign-in loop."""
        inner = super().admin_view(view, cacheable)

        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied("Your account holds no portal role.")
            return inner(request, *args, **kwargs)

        return cast(ViewT, update_wrapper(guarded, inner))

    def login(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # People sign in with Entra ID; the password form exists only as break-glass.
        next_url = request.GET.get("next", "")
        query = f"?{urlencode({'next': next_url})}" if next_url else ""
        return redirect(reverse("sign-in") + query)

    def logout(  # type: ignore[override]  # a redirect to Entra's sign-out, not a page
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return sign_out(request)

    def password_change(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        _refuse_unless_break_glass(request)
        return super().password_change(request, extra_context)

    def password_change_done(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        _refuse_unless_break_glass(request)
        return super().password_change_done(request, extra_context)

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        if request.htmx:  # type: ignore[attr-defined]  # django-htmx's middleware sets it
            return fleet_results(request)
        return super().index(request, {**fleet_dashboard_context(request), **(extra_context or {})})
