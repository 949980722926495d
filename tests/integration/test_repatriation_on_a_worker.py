"""Repatriation end to end on a real Celery worker: a tenant failed over during an injected
Australia East outage is brought home once the outage ends; its home app runs on the home
database, the downtime is recorded and small, and the Southeast copy goes only after a second
admin approves its deletion."""

from __future__ import annotations

import pytest

from dr.repatriation import repatriation_request
from operations.models import Operation
from operations.services import operation_approve
from portal.azure import sites, sql, web
from portal.management.commands.load_demo import catalogue_entry
from portal.resource_ids import name_of
from tenants.services import tenant_import
from tests.dr.failover_fleet import admins
from tests.dr.repatriation_fleet import database_or_none, failed_over, movable
from tests.processes import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def finished(operation: Operation) -> Operation | None:
    operation.refresh_from_db()
    return operation if operation.is_finished else None


@pytest.mark.timeout(600)
def test_a_tenant_is_brought_home_on_a_worker_and_its_southeast_copy_goes_after_approval(
    azure_emulator, worker
):
    tenant_import(entries=[catalogue_entry(t) for t in azure_emulator.tenants], actor=None)
    ada, blake = admins()
    try:
        tenant, _ = failed_over(azure_emulator, movable(azure_emulator), ada, worker=worker)
        southeast = tenant.active
        operation = repatriation_request(tenants=[tenant], user=ada, reason="East is back")
        wait_for(lambda: finished(operation), timeout=180, what="repatriation", worker=worker)
        assert operation.state == Operation.State.SUCCEEDED, operation.error_message
        tenant.refresh_from_db()

        assert tenant.active.at_home
        assert web.site_get(tenant.app_service_site_id).is_running
        pointed = sites.connection_strings_get(tenant.app_service_site_id)["FleetwiseDb"].value
        assert f"{name_of(tenant.sql_server_id)}.database.windows.net" in pointed
        assert sql.database_get(tenant.database_id).status == "Online"
        assert not web.site_get(southeast.site_id).is_running
        repatriation = operation.dr_repatriation
        assert 0 < repatriation.downtime_seconds < 30

        cleanup = repatriation.away_cleanup_operation
        assert cleanup.state == Operation.State.AWAITING_APPROVAL
        assert database_or_none(southeast.database_id) is not None
        operation_approve(operation=cleanup, approver=blake)
        wait_for(lambda: finished(cleanup), timeout=120, what="the deletion", worker=worker)
        assert cleanup.state == Operation.State.SUCCEEDED, cleanup.error_message
        assert database_or_none(southeast.database_id) is None
        assert sql.database_get(tenant.database_id).status == "Online"
    finally:
        azure_emulator.reset()
