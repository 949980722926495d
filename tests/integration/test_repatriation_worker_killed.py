"""A repatriation on a real Celery worker that is SIGKILLed while the home copy is being seeded:
the sweep revives it, it finishes, and Azure was asked for the geo-secondary once (the
emulator's records of its long-running operations are the evidence)."""

from __future__ import annotations

import pytest

from dr.repatriation import repatriation_request
from dr.repatriation_state import SECONDARY_BEGUN
from operations.models import Operation
from operations.services import operations_sweep
from portal.management.commands.load_demo import catalogue_entry
from tenants.models import Tenant
from tenants.services import tenant_import
from tests.dr.failover_fleet import admins
from tests.dr.repatriation_fleet import failed_over, movable
from tests.processes import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SLOW_SEEDING = {"operation": "databases.create_or_update", "seconds": 8}


def finished_after_sweeping(operation: Operation) -> Operation | None:
    operations_sweep()
    operation.refresh_from_db()
    return operation if operation.is_finished else None


def secondaries_begun(emulator, database_id: str) -> int:
    return sum(
        1
        for row in emulator.control("GET", "operations")["operations"]
        if row["operation"] == "databases.create_or_update"
        and row["resource_id"].lower() == database_id.lower()
        and (row.get("args") or {}).get("mode") == "Secondary"
    )


@pytest.mark.timeout(600)
def test_a_worker_killed_mid_repatriation_resumes_without_a_second_geo_secondary(
    azure_emulator, worker, settings
):
    tenant_import(entries=[catalogue_entry(t) for t in azure_emulator.tenants], actor=None)
    ada, _ = admins()
    try:
        tenant, _ = failed_over(azure_emulator, movable(azure_emulator), ada)
        azure_emulator.control("POST", "lro", SLOW_SEEDING)
        operation = repatriation_request(tenants=[tenant], user=ada, reason="East is back")

        def seeding() -> bool:
            operation.refresh_from_db()
            return bool(operation.checkpoint.get(SECONDARY_BEGUN))

        wait_for(seeding, what="the home copy being seeded", worker=worker)
        worker.kill()
        assert Operation.objects.get(pk=operation.pk).state == Operation.State.RUNNING

        worker.start()
        worker.wait_ready()
        settings.OPERATIONS_LEASE_SECONDS = 6  # as the worker's
        operation = wait_for(
            lambda: finished_after_sweeping(operation),
            timeout=300,
            every=1.0,
            what="the repatriation to finish after the kill",
            worker=worker,
        )
        begun = secondaries_begun(azure_emulator, tenant.database_id)
    finally:
        azure_emulator.control("POST", "lro", {**SLOW_SEEDING, "seconds": 1})
        azure_emulator.reset()

    assert operation.state == Operation.State.SUCCEEDED, (
        operation.error_code,
        operation.error_message,
    )
    assert begun == 1
    tenant = Tenant.objects.get(pk=tenant.pk)
    assert tenant.active.at_home
    assert operation.dr_repatriation.downtime_seconds > 0
