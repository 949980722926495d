from __future__ import annotations

from celery import shared_task

from portal.azure.errors import AzureTransientError


@shared_task(
    name="backups.refresh_restore_snapshot",
    autoretry_for=(AzureTransientError,),
    retry_backoff=5,
    retry_jitter=True,
    max_retries=3,
    soft_time_limit=60,
    time_limit=90,
)
def refresh_restore_snapshot(tenant_id: int) -> None:
    from backups.services import restore_snapshot_refresh
    from tenants.models import Tenant

    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is not None:
        restore_snapshot_refresh(tenant=tenant)
