"""Shared by the repatriation tests: one tenant failed over to Australia Southeast during an
injected Australia East outage (through the real failover steps), then the outage ended."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from dr.failover import TENANT_FAILOVER, tenant_failover_parameters
from dr.services import readiness_refresh
from monitoring.models import RefreshRun
from monitoring.services import fleet_refresh
from operations.engine import operation_start_now
from operations.models import Operation
from operations.services import operation_create, tenant_subject
from operations.tasks import enqueue_run
from portal.azure import sites, sql
from portal.azure.errors import AzureError
from tenants.models import Tenant
from tests.drive import drive
from tests.processes import wait_for

# Seeded tenants that cannot fail over (no standby, no geo backups) or are already replicated.
CANNOT_FAIL_OVER = {"no_standby_site", "backup_local"}


def movable(emulator: Any, *, with_own_key: bool = False, skip: int = 0) -> Tenant:
    """A seeded tenant a failover brings up (optionally one whose database has its own key;
    `skip` passes over the first ones that fit)."""
    for seeded in emulator.tenants:
        if CANNOT_FAIL_OVER & set(seeded["seeded_issues"]) or seeded.get(
            "geo_secondary_database_id"
        ):
            continue
        body = emulator.control("GET", f"resource?id={seeded['database_id']}")
        if with_own_key and not body["properties"].get("encryptionProtector"):
            continue
        if skip:
            skip -= 1
            continue
        return Tenant.objects.get(slug=seeded["slug"])
    raise LookupError("no seeded tenant fits")


def replicated(emulator: Any) -> Tenant:
    """A seeded tenant with a standing geo-secondary on the paired server and a standby."""
    seeded = next(
        t
        for t in emulator.tenants
        if t.get("geo_secondary_database_id") and "no_standby_site" not in t["seeded_issues"]
    )
    return Tenant.objects.get(slug=seeded["slug"])


def failed_over(
    emulator: Any, tenant: Tenant, admin: Any, *, worker: Any = None
) -> tuple[Tenant, dict[str, Any]]:
    """Assess readiness while Australia East answers, take it down, fail `tenant` over through
    the failover's own child kind (in this process, or on `worker`), then end the outage.
    Returns the tenant and its standby's connection strings before the failover."""
    fleet_refresh(kind=RefreshRun.Kind.BACKUPS)
    readiness_refresh()
    tenant.refresh_from_db()
    standby_before = sites.connection_strings_get(tenant.dr_readiness.standby_site_id)
    emulator.control("POST", "faults/outage", {"region": "australiaeast", "active": True})
    try:
        child = operation_create(
            kind=TENANT_FAILOVER,
            subject=tenant_subject(tenant),
            tenant=tenant,
            requested_by=admin,
            reason="Australia East is down",
            ticket="",
            parameters=tenant_failover_parameters(tenant),
            needs_approval=False,
        )
        if worker is None:
            drive(child, seconds=120)
        else:
            with transaction.atomic():
                operation_start_now(child, enqueue_run)
            child = wait_for(
                lambda: Operation.objects.filter(
                    pk=child.pk, state__in=Operation.FINISHED_STATES
                ).first(),
                timeout=120,
                what="the failover on the worker",
                worker=worker,
            )
    finally:
        emulator.control("POST", "faults/outage", {"region": "australiaeast", "active": False})
    assert child.state == Operation.State.SUCCEEDED, (child.error_code, child.error_message)
    tenant.refresh_from_db()
    assert not tenant.active.at_home
    return tenant, standby_before


def database_or_none(database_id: str) -> sql.DatabaseInfo | None:
    try:
        return sql.database_get(database_id)
    except AzureError:
        return None
