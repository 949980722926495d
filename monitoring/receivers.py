"""What monitoring does when other apps' things happen."""

from __future__ import annotations

import logging
from typing import Any

from operations.models import Operation
from tenants.models import Tenant

log = logging.getLogger(__name__)


def _enqueue_quietly(run_id: int) -> None:
    """The operation has finished whatever happens here: a broker outage only delays the page's
    update to the next scheduled refresh, so it is logged, not raised."""
    from monitoring.tasks import enqueue_refresh_run

    try:
        enqueue_refresh_run(run_id)
    except Exception:  # noqa: BLE001 - kombu raises many kinds; none may undo the finish
        log.warning("refresh run %s not enqueued; the scheduled refresh will cover it", run_id)


def refresh_after_operation(sender: Any, operation: Operation, **kwargs: Any) -> None:
    """A finished operation on one tenant (not a child of a fleet operation: those would file
    thousands of runs, and the scheduled refresh covers them) re-reads that tenant's sources.
    A finished pool operation (a pool scale) re-reads one of the pool's tenants: that reads the
    pool's server, so the pool's page shows its new size at once too."""
    if operation.parent_id is not None:
        return
    tenant = operation.tenant or _a_tenant_of_pool(operation)
    if tenant is None:
        return
    from monitoring.services import tenant_refresh_after_change

    tenant_refresh_after_change(tenant=tenant, enqueue=_enqueue_quietly)


def _a_tenant_of_pool(operation: Operation) -> Tenant | None:
    if operation.subject_type != Operation.Subject.ELASTIC_POOL:
        return None
    return (
        Tenant.objects.filter(elastic_pool_id__iexact=operation.subject_id).order_by("slug").first()
    )
