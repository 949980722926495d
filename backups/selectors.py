"""Reads of what the portal last learned about a tenant's backups (never Azure itself)."""

from __future__ import annotations

from backups.models import RestoreSnapshot
from tenants.models import Tenant


def restore_snapshot_for(tenant: Tenant) -> RestoreSnapshot | None:
    """The tenant's restore snapshot, or None when none was ever requested. The caller has
    already checked that the person may see the tenant (tenant_for_user)."""
    return RestoreSnapshot.objects.filter(tenant=tenant).first()
