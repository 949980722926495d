from __future__ import annotations

from celery import shared_task


@shared_task(name="keys.refresh_key_inventory", soft_time_limit=60, time_limit=90)
def refresh_key_inventory(tenant_id: int) -> None:
    """Read a tenant's key inventory from Azure; pages show what was stored."""
    from keys.inventory import key_inventory_collect
    from tenants.models import Tenant

    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is not None:
        key_inventory_collect(tenant)
