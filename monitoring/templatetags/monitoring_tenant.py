"""`{% tenant_monitoring tenant %}`: the monitoring sections on the tenant page."""

from __future__ import annotations

from typing import Any

from django import template

from monitoring.tenant_page import tenant_sections
from tenants.models import Tenant

register = template.Library()


@register.inclusion_tag("monitoring/_tenant_sections.html", takes_context=True)
def tenant_monitoring(context: template.Context, tenant: Tenant) -> dict[str, Any]:
    request = context["request"]
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "tenant": tenant,
        **tenant_sections(request.user, tenant.slug),
    }
