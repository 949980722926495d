"""`{% key_inventory tenant %}`: the tenant's TDE key as last collected, for the tenant page."""

from __future__ import annotations

from typing import Any

from django import template

from keys.models import KeyInventory
from tenants.models import Tenant

register = template.Library()


@register.inclusion_tag("keys/_inventory.html", takes_context=True)
def key_inventory(context: template.Context, tenant: Tenant) -> dict[str, Any]:
    return {
        "tenant": tenant,
        "perms": context.get("perms"),
        "inventory": KeyInventory.objects.filter(tenant=tenant).first(),
    }
