"""A region failover on a real Celery worker that is SIGKILLed while geo-restores are under way:
the sweep revives what the dead worker held, the failover finishes, and no tenant's database was
restored twice (the emulator's request log is the evidence)."""

from __future__ import annotations

import pytest

from dr import steps
from operations.models import Operation
from operations.services import operations_sweep
from portal.management.commands.load_demo import catalogue_entry
from tenants.models import Tenant
from tenants.services import tenant_import
from tests.dr.failover_fleet import assess_then_down, declared_and_approved, geo_restores_begun
from tests.processes import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SLOW_RESTORE = {"operation": "databases.create_or_update", "seconds": 8}


def finished_after_sweeping(parent: Operation) -> Operation | None:
    """What the beat's sweep does every minute, done on each look here."""
    operations_sweep()
    parent.refresh_from_db()
    return parent if parent.is_finished else None


@pytest.mark.timeout(600)
def test_a_worker_killed_mid_failover_is_resumed_without_a_second_restore_of_any_tenant(
    azure_emulator, worker, settings
):
    tenant_import(entries=[catalogue_entry(t) for t in azure_emulator.tenants], actor=None)
    azure_emulator.control("POST", "lro", SLOW_RESTORE)
    try:
        assess_then_down(azure_emulator)
        before = geo_restores_begun(azure_emulator)
        parent = declared_and_approved()

        def restoring() -> bool:
            return any(
                c.get(steps.RESTORE_BEGUN)
                for c in parent.children.values_list("checkpoint", flat=True)
            )

        wait_for(restoring, what="a geo-restore under way", worker=worker)
        worker.kill()
        assert parent.children.filter(state=Operation.State.RUNNING).exists()

        worker.start()
        worker.wait_ready()
        settings.OPERATIONS_LEASE_SECONDS = 6  # as the worker's
        parent = wait_for(
            lambda: finished_after_sweeping(parent),
            timeout=300,
            every=1.0,
            what="the failover to finish after the kill",
            worker=worker,
        )
        begun = geo_restores_begun(azure_emulator) - before
    finally:
        azure_emulator.control("POST", "lro", {**SLOW_RESTORE, "seconds": 1})
        azure_emulator.reset()

    children = list(parent.children.all())
    assert len(children) == Tenant.objects.count()
    succeeded = [c for c in children if c.state == Operation.State.SUCCEEDED]
    # Every tenant came up (the one seeded without a standby on one made for it), those with a
    # geo-secondary by failing its replication link over (no restore at all).
    assert len(succeeded) == len(children), [(c.subject_id, c.error_message) for c in children]
    by_link = [c for c in succeeded if c.tenant.dr_readiness.geo_secondary_id]
    assert by_link, "the seed geo-replicates some tenants"
    for child in succeeded:
        expected = 0 if child in by_link else 1
        assert begun[child.tenant.active_database_id.lower()] == expected, child.subject_id
    assert sum(begun.values()) == len(succeeded) - len(by_link)
