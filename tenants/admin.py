"""The catalogue in the admin: visible per the viewer's tenants, editable with manage_catalogue."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import Field, QuerySet
from django.http import HttpRequest
from django_stubs_ext import StrPromise

from portal.admin_times import local_time_column
from portal.roles import ACCOUNT_MANAGERS, MANAGE_CATALOGUE, VIEW_TENANT
from tenants.models import AZURE_RESOURCE_FIELDS, Tenant
from tenants.selectors import tenants_visible_to
from tenants.services import tenant_delete, tenant_save


class AccountManagerFilter(admin.RelatedFieldListFilter):
    """Django's default lists every user of the portal (break-glass account included) to anyone
    who can open the catalogue; offer only account managers of tenants the viewer can see."""

    def field_choices(
        self, field: Field[Any, Any], request: HttpRequest, model_admin: Any
    ) -> list[tuple[str, str | StrPromise]]:
        managers = (
            User.objects.filter(
                groups__name=ACCOUNT_MANAGERS,
                managed_tenants__in=tenants_visible_to(request.user),
            )
            .distinct()
            .order_by("username")
        )
        return [(str(manager.pk), str(manager)) for manager in managers]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin[Tenant]):
    list_display = (
        "slug",
        "display_name",
        "status",
        "region",
        "account_manager",
        "updated_at_local",
    )
    list_filter = ("status", "region", "dr_tier", ("account_manager", AccountManagerFilter))
    search_fields = ("slug", "display_name", "database_id", "subscription_id", "resource_group")
    list_select_related = ("account_manager",)
    readonly_fields = ("created_at_local", "updated_at_local")
    created_at_local = local_time_column("created_at", "Created")
    updated_at_local = local_time_column("updated_at", "Last changed")
    fieldsets = (
        (None, {"fields": ("slug", "display_name", "status", "account_manager", "region", "tags")}),
        ("Disaster recovery", {"fields": ("dr_tier",)}),
        ("Azure resources", {"fields": AZURE_RESOURCE_FIELDS}),
        ("History", {"fields": ("created_at_local", "updated_at_local")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        return tenants_visible_to(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(VIEW_TENANT)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(VIEW_TENANT)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(MANAGE_CATALOGUE)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(MANAGE_CATALOGUE)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(MANAGE_CATALOGUE)

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        tenant_save(tenant=obj, actor=request.user, changed=form.changed_data)

    def delete_model(self, request: HttpRequest, obj: Tenant) -> None:
        tenant_delete(tenant=obj, actor=request.user)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        # Removing tenants from the catalogue is decided one tenant at a time, never in bulk.
        actions.pop("delete_selected", None)
        return actions
