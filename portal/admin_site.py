"""The portal's shell: Django admin's look, branded, with the fleet on its landing page."""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from portal.views import sign_out
from tenants.models import Tenant
from tenants.selectors import tenants_visible_to


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
    index_template = "admin/fleet_index.html"

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
        tenants = tenants_visible_to(request.user)
        by_status = dict(tenants.values_list("status").annotate(n=Count("id")).order_by())
        context = {
            "fleet_tenants": tenants.order_by("slug")[:500],
            "fleet_total": sum(by_status.values()),
            "fleet_by_status": [
                (label, by_status.get(value, 0)) for value, label in Tenant.Status.choices
            ],
            **(extra_context or {}),
        }
        return super().index(request, context)
