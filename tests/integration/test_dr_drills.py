"""DR drills end to end: the portal's services, a real Celery worker and Redis, the Azure SDKs
and the emulator, whose own records (resources, request log) are the evidence."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from dr.models import DrDrill, DrReadiness
from dr.services import readiness_refresh
from dr.steps import RESTORE_BEGUN
from monitoring.models import RefreshRun
from monitoring.services import fleet_refresh
from operations.models import Operation
from operations.services import operation_approve, operations_sweep
from portal import roles
from portal.management.commands.load_demo import catalogue_entry
from tenants.models import Tenant
from tenants.services import tenant_import
from tests.dr.conftest import drill_databases_delete
from tests.factories import UserFactory
from tests.integration.test_restores import emulator_database, finished, restore_puts
from tests.processes import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def drill_databases_removed(azure_emulator):
    yield
    drill_databases_delete(azure_emulator)


def ready_tenant(emulator, index: int) -> Tenant:
    """The index-th seeded tenant with no seeded issue, in the catalogue and assessed ready."""
    clean = [t for t in emulator.tenants if not t["seeded_issues"]]
    tenant_import(entries=[catalogue_entry(clean[index])], actor=None)
    fleet_refresh(kind=RefreshRun.Kind.BACKUPS)
    readiness_refresh()
    tenant = Tenant.objects.get(slug=clean[index]["slug"])
    assert DrReadiness.objects.get(tenant=tenant).ready
    return tenant


def test_a_drill_run_by_the_worker_records_rto_and_rpo_and_leaves_the_standby_as_it_was(
    azure_emulator, worker
):
    tenant = ready_tenant(azure_emulator, 1)
    support = UserFactory(username="sam.support@fleetwise.example", groups=[roles.SUPPORT])
    ada = UserFactory(username="ada.admin@fleetwise.example", groups=[roles.ADMINS])
    standby_id = DrReadiness.objects.get(tenant=tenant).standby_site_id
    before = emulator_database(azure_emulator, f"{standby_id}/config/connectionstrings")

    out = io.StringIO()
    call_command(
        "dr_drill",
        "--tenant",
        tenant.slug,
        "--requested-by",
        support.username,
        "--reason",
        "Quarterly drill",
        "--wait",
        "--wait-timeout",
        "120",
        stdout=out,
    )

    drill = DrDrill.objects.get(tenant=tenant)
    assert drill.operation.state == "succeeded"
    assert f"{tenant.slug}: RTO {drill.rto_seconds:.0f} s" in out.getvalue()
    assert drill.rpo_seconds is not None and drill.rpo_seconds >= 3600
    standby = emulator_database(azure_emulator, standby_id)
    assert standby["properties"]["state"] == "Stopped"
    after = emulator_database(azure_emulator, f"{standby_id}/config/connectionstrings")
    assert (after or {}).get("properties", {}) == (before or {}).get("properties", {})
    copy = emulator_database(azure_emulator, drill.database_id)
    assert copy["properties"]["status"] == "Online"
    assert copy["_meta"]["lineage"]["create_mode"] == "Recovery"

    operation_approve(operation=drill.teardown_operation, approver=ada)
    teardown = wait_for(
        lambda: finished(drill.teardown_operation), what="the teardown", worker=worker
    )
    assert teardown.state == "succeeded", (teardown.error_message, worker.log_tail())
    assert emulator_database(azure_emulator, drill.database_id) is None
    assert emulator_database(azure_emulator, tenant.database_id) is not None


def test_a_worker_killed_mid_drill_restore_resumes_without_a_second_restore(
    azure_emulator, worker, settings
):
    from dr.drills import drill_request

    tenant = ready_tenant(azure_emulator, 2)
    support = UserFactory(username="sam.support@fleetwise.example", groups=[roles.SUPPORT])
    azure_emulator.control("POST", "lro", {"operation": "databases.create_or_update", "seconds": 6})
    try:
        operation = drill_request(tenants=[tenant], user=support, reason="Crash drill")

        def restoring():
            operation.refresh_from_db()
            return operation.checkpoint.get(RESTORE_BEGUN)

        wait_for(restoring, what="the geo-restore to begin", worker=worker)
        worker.kill()
        assert Operation.objects.get(pk=operation.pk).state == "running"

        worker.start()
        settings.OPERATIONS_LEASE_SECONDS = 6  # as the worker's
        wait_for(
            lambda: operations_sweep()["revived"], every=1.0, what="the sweep to find the dead run"
        )
        operation = wait_for(lambda: finished(operation), what="the resumed drill", worker=worker)
    finally:
        azure_emulator.control(
            "POST", "lro", {"operation": "databases.create_or_update", "seconds": 1}
        )
    assert operation.state == "succeeded", (operation.error_message, worker.log_tail())
    assert len(restore_puts(azure_emulator, operation.parameters["target_name"])) == 1
    assert DrDrill.objects.filter(operation=operation).exists()
