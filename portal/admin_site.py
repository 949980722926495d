"""The portal's shell: Django admin's look, branded, with the fleet on its landing page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count
from django.http import HttpRequest
from django.template.response import TemplateResponse

from tenants.models import Tenant
from tenants.selectors import tenants_visible_to


class FleetwiseAdminSite(admin.AdminSite):
    site_header = "Fleetwise Ops"
    site_title = "Fleetwise Ops"
    index_title = "Fleet"
    index_template = "admin/fleet_index.html"

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
