"""Restores end to end: the portal's services, a real Celery worker and Redis, the Azure SDKs,
and the emulator. The emulator's own records (lineage, request log) are the evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backups.services import RestoreRequest, restore_request
from operations.models import Operation
from operations.services import operation_approve, operation_cancel, operations_sweep
from portal import roles
from portal.management.commands.load_demo import catalogue_entry
from tenants.models import Tenant
from tenants.services import tenant_import
from tests.factories import UserFactory
from tests.processes import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def tenant_from_fleet(emulator, index: int) -> Tenant:
    entry = catalogue_entry(emulator.tenants[index])
    tenant_import(entries=[entry], actor=None)
    return Tenant.objects.get(slug=entry["slug"])


def people():
    support = UserFactory(username="sam.support@fleetwise.example", groups=[roles.SUPPORT])
    admin = UserFactory(username="ada.admin@fleetwise.example", groups=[roles.ADMINS])
    return support, admin


def two_hours_ago_utc() -> str:
    return (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")


def restore_two_hours_back(
    tenant: Tenant, user, mode: str, *, reason: str, ticket: str = ""
) -> Operation:
    """What a person confirms in the portal: a restore to two hours ago (UTC), slug typed."""
    return restore_request(
        tenant=tenant,
        user=user,
        request=RestoreRequest(mode=mode, when=two_hours_ago_utc(), in_utc=True),
        reason=reason,
        ticket=ticket,
        confirm_slug=tenant.slug,
    )


def finished(operation: Operation):
    operation.refresh_from_db()
    return operation if operation.is_finished else None


def emulator_database(emulator, database_id: str) -> dict | None:
    state = emulator.control("GET", "state")
    return state["resources"].get(database_id.lower())


def restore_puts(emulator, target_name: str) -> list[dict]:
    return [
        r
        for r in emulator.control("GET", "requests")["requests"]
        if r["method"] == "PUT" and r["path"].lower().endswith(f"/databases/{target_name}".lower())
    ]


def test_a_parallel_restore_creates_a_copy_with_the_lineage_and_leaves_the_live_database(
    azure_emulator, worker
):
    tenant = tenant_from_fleet(azure_emulator, 0)
    support, _ = people()
    operation = restore_two_hours_back(
        tenant,
        support,
        "parallel",
        reason="Customer deleted invoices by mistake",
        ticket="INC-1001",
    )
    assert operation.state == "queued"
    operation = wait_for(lambda: finished(operation), what="the restore to finish", worker=worker)
    assert operation.state == "succeeded", (operation.error_message, worker.log_tail())
    assert [s.state for s in operation.steps.order_by("position")] == ["succeeded"] * 4

    copy = emulator_database(azure_emulator, operation.parameters["target_id"])
    assert copy is not None
    # Azure restores neither a database-level key nor tags: the portal passed both.
    live = emulator_database(azure_emulator, tenant.database_id)
    assert live["properties"]["encryptionProtector"]
    assert copy["properties"]["encryptionProtector"] == live["properties"]["encryptionProtector"]
    assert copy["identity"]["userAssignedIdentities"].keys() == (
        live["identity"]["userAssignedIdentities"].keys()
    )
    lineage = copy["_meta"]["lineage"]
    assert lineage["source_database_id"].lower() == tenant.database_id.lower()
    assert lineage["restore_point_in_time"].startswith(operation.parameters["point_in_time"][:16])
    assert copy["tags"]["fleetwise-operation"] == str(operation.pk)
    live = emulator_database(azure_emulator, tenant.database_id)
    assert live["properties"]["status"] == "Online"
    assert len(restore_puts(azure_emulator, operation.parameters["target_name"])) == 1


def test_an_in_place_restore_waits_for_a_second_person_then_swaps_the_databases(
    azure_emulator, worker
):
    tenant = tenant_from_fleet(azure_emulator, 1)
    support, admin = people()
    operation = restore_two_hours_back(
        tenant, support, "in_place", reason="Corrupted data after a bad deploy", ticket="INC-1002"
    )
    assert operation.state == "awaiting_approval"
    operation_approve(operation=operation, approver=admin)
    operation = wait_for(lambda: finished(operation), what="the in-place restore", worker=worker)
    assert operation.state == "succeeded", (
        operation.error_message,
        operation.outcome,
        worker.log_tail(),
    )

    live = emulator_database(azure_emulator, tenant.database_id)
    # Restored from the tenant's database, or, when an earlier test in the session already
    # restored this tenant in place, from the pre-restore copy it kept (the point two hours back
    # lies before that swap: the lineage window).
    source = live["_meta"]["lineage"]["source_database_id"].lower()
    assert source == tenant.database_id.lower() or source.startswith(
        tenant.database_id.lower() + "-pre-restore-"
    ), source
    assert live["tags"]["fleetwise-restored-by-operation"] == str(operation.pk)
    kept = emulator_database(azure_emulator, operation.parameters["pre_restore_id"])
    assert kept is not None and kept["tags"]["fleetwise-role"] == "pre-restore"
    assert emulator_database(azure_emulator, operation.parameters["target_id"]) is None
    site = emulator_database(azure_emulator, tenant.app_service_site_id)
    assert site["properties"]["state"] == "Running"


def test_an_in_place_swap_whose_second_rename_fails_is_rolled_back(azure_emulator, worker):
    tenant = tenant_from_fleet(azure_emulator, 2)
    support, admin = people()
    azure_emulator.control(
        "POST",
        "faults/fail-next",
        {"operation": "databases.rename", "after": 1, "count": 1, "status": 409, "code": "Conflict",
         "message": "Another operation is in progress on the database."},
    )  # fmt: skip
    try:
        operation = restore_two_hours_back(tenant, support, "in_place", reason="Rollback drill")
        operation_approve(operation=operation, approver=admin)
        operation = wait_for(lambda: finished(operation), what="the failed swap", worker=worker)
    finally:
        azure_emulator.control("DELETE", "faults")
    assert operation.state == "failed"
    assert operation.error_code == "Conflict"
    assert operation.outcome.startswith("Rolled back: the tenant is back on its original database")
    states = {s.key: s.state for s in operation.steps.all()}
    assert states["rename_copy"] == "failed"
    assert states["rename_live"] == "undone" and states["stop_app"] == "undone"
    live = emulator_database(azure_emulator, tenant.database_id)
    assert "lineage" not in live["_meta"] or live["_meta"].get("lineage") is None
    assert emulator_database(azure_emulator, operation.parameters["pre_restore_id"]) is None
    site = emulator_database(azure_emulator, tenant.app_service_site_id)
    assert site["properties"]["state"] == "Running"


def test_a_worker_killed_mid_restore_is_resumed_without_a_second_restore(
    azure_emulator, worker, settings
):
    tenant = tenant_from_fleet(azure_emulator, 3)
    support, _ = people()
    azure_emulator.control("POST", "lro", {"operation": "databases.create_or_update", "seconds": 6})
    try:
        operation = restore_two_hours_back(tenant, support, "parallel", reason="Crash drill")

        def restoring():
            operation.refresh_from_db()
            return operation.checkpoint.get("restore_begun")

        wait_for(restoring, what="the restore to begin", worker=worker)
        worker.kill()
        assert Operation.objects.get(pk=operation.pk).state == "running"

        worker.start()
        settings.OPERATIONS_LEASE_SECONDS = 6  # as the worker's
        wait_for(
            lambda: operations_sweep()["revived"], every=1.0, what="the sweep to find the dead run"
        )
        operation = wait_for(lambda: finished(operation), what="the resumed restore", worker=worker)
    finally:
        azure_emulator.control(
            "POST", "lro", {"operation": "databases.create_or_update", "seconds": 1}
        )
    assert operation.state == "succeeded", (operation.error_message, worker.log_tail())
    # (Visits that end waiting for Azure are not attempts, so `attempts` says nothing here.)
    assert len(restore_puts(azure_emulator, operation.parameters["target_name"])) == 1


def test_cancelling_a_running_restore_deletes_the_partial_copy(azure_emulator, worker):
    tenant = tenant_from_fleet(azure_emulator, 4)
    support, _ = people()
    azure_emulator.control(
        "POST", "lro", {"operation": "databases.create_or_update", "seconds": 30}
    )
    try:
        operation = restore_two_hours_back(tenant, support, "parallel", reason="Wrong time chosen")
        wait_for(
            lambda: Operation.objects.get(pk=operation.pk).checkpoint.get("restore_begun"),
            what="restore begun",
        )
        operation_cancel(operation=Operation.objects.get(pk=operation.pk), by=support)
        operation = wait_for(lambda: finished(operation), what="the cancel", worker=worker)
    finally:
        azure_emulator.control(
            "POST", "lro", {"operation": "databases.create_or_update", "seconds": 1}
        )
    assert operation.state == "cancelled"
    assert "partial copy" in operation.outcome
    wait_for(
        lambda: emulator_database(azure_emulator, operation.parameters["target_id"]) is None,
        what="the partial copy to be deleted",
    )


@pytest.mark.parametrize("source", ["long_term_backup", "deleted_database"])
def test_restores_from_a_long_term_backup_and_of_a_deleted_database_run_the_same_way(
    azure_emulator, worker, source
):
    from portal.azure import sql

    tenant = tenant_from_fleet(azure_emulator, 5 if source == "long_term_backup" else 0)
    support, _ = people()
    if source == "long_term_backup":
        request = RestoreRequest(
            mode="parallel",
            source=source,
            long_term_backup_id=sql.long_term_retention_backups(tenant.database_id)[-1].id,
        )
    else:
        request = RestoreRequest(
            mode="parallel",
            source=source,
            dropped_database_id=sql.restorable_dropped_databases(tenant.sql_server_id)[0].id,
        )
    operation = restore_request(
        tenant=tenant,
        user=support,
        request=request,
        reason="Audit request",
        ticket="",
        confirm_slug=tenant.slug,
    )
    operation = wait_for(lambda: finished(operation), what=f"the {source} restore", worker=worker)
    assert operation.state == "succeeded", (operation.error_message, worker.log_tail())
    copy = emulator_database(azure_emulator, operation.parameters["target_id"])
    assert copy["properties"]["status"] == "Online"
    assert copy["_meta"]["lineage"]["create_mode"] == operation.parameters["create_mode"]


def test_an_expired_copy_is_deleted_only_after_a_second_admin_approves(azure_emulator, worker):
    import io

    from django.core.management import call_command

    from portal.azure import sql

    tenant = tenant_from_fleet(azure_emulator, 6)
    support, admin = people()
    blake = UserFactory(username="blake.admin@fleetwise.example", groups=[roles.ADMINS])
    restore = restore_two_hours_back(tenant, support, "parallel", reason="Look at last week's data")
    restore = wait_for(lambda: finished(restore), what="the restore", worker=worker)
    copy = sql.database_get(restore.parameters["target_id"])
    assert copy.tags["fleetwise-keep-until"] == restore.parameters["copy_expires_at"]
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    sql.database_tags_set(copy.id, {**copy.tags, "fleetwise-keep-until": past})

    out = io.StringIO()
    call_command("cleanup_restore_copies", "--requested-by", admin.username, stdout=out)
    assert f"{copy.name} (restore-copy" in out.getvalue()
    cleanup = Operation.objects.get(kind="restore_cleanup")
    assert cleanup.state == "awaiting_approval"
    assert emulator_database(azure_emulator, copy.id) is not None

    operation_approve(operation=cleanup, approver=blake)
    cleanup = wait_for(lambda: finished(cleanup), what="the cleanup", worker=worker)
    assert cleanup.state == "succeeded", (cleanup.error_message, worker.log_tail())
    assert emulator_database(azure_emulator, copy.id) is None
    assert emulator_database(azure_emulator, tenant.database_id) is not None
