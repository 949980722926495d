"""The tenant page: catalogue facts, the monitoring sections (restore window included) and the
tenant's operations."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from dr.selectors import readiness_for
from operations.models import Operation
from operations.selectors import operations_visible_to
from portal.pages import render_page
from portal.resource_ids import name_of
from portal.roles import REQUEST_RESTORE
from tenants.models import Tenant
from tenants.selectors import tenant_for_user

RECENT_OPERATIONS = 10


@dataclass(frozen=True)
class CatalogueFact:
    label: str
    name: str
    resource_id: str


def _name(resource_id: str) -> str:
    return name_of(resource_id, default="—")


def catalogue_facts(tenant: Tenant) -> list[CatalogueFact]:
    """The Azure resources making up the tenant, by name (ids kept for copying)."""
    key_name = tenant.key_vault_key_id.split("/keys/", 1)[-1].split("/", 1)[0]
    return [
        CatalogueFact(
            "App Service site", _name(tenant.app_service_site_id), tenant.app_service_site_id
        ),
        CatalogueFact(
            "App Service plan", _name(tenant.app_service_plan_id), tenant.app_service_plan_id
        ),
        CatalogueFact("SQL server", _name(tenant.sql_server_id), tenant.sql_server_id),
        CatalogueFact("SQL database", tenant.database_name, tenant.database_id),
        CatalogueFact("Elastic pool", _name(tenant.elastic_pool_id), tenant.elastic_pool_id),
        CatalogueFact("TDE key", key_name, tenant.key_vault_key_id),
    ]


def _recent_operations(request: HttpRequest, tenant: Tenant) -> list[Operation]:
    return list(
        operations_visible_to(request.user)
        .filter(tenant=tenant)
        .prefetch_related("steps")[:RECENT_OPERATIONS]
    )


def _operations_context(operations: list[Operation]) -> dict[str, object]:
    return {"operations": operations, "polling": any(op.is_active for op in operations)}


@require_safe
@login_required
def tenant_detail(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = tenant_for_user(request.user, slug)
    context = {
        "tenant": tenant,
        "facts": catalogue_facts(tenant),
        "can_restore": request.user.has_perm(REQUEST_RESTORE),
        "dr_readiness": readiness_for(tenant),
        **_operations_context(_recent_operations(request, tenant)),
    }
    return render_page(request, "tenants/tenant_detail.html", context, title=tenant.display_name)


@require_safe
@login_required
def tenant_operations(request: HttpRequest, slug: str) -> HttpResponse:
    """The tenant page's operations panel, polled by htmx while an operation is active."""
    tenant = tenant_for_user(request.user, slug)
    context = {"tenant": tenant, **_operations_context(_recent_operations(request, tenant))}
    return render(request, "tenants/_operations.html", context)
