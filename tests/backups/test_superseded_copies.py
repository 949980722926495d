"""The rule that a superseded copy (a failover's copy, a stale home database set aside) is
deleted only while the copy the tenant runs on now is another database, Online and primary —
read from the catalogue and the emulator when the deletion runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backups.superseded import newer_copy_refusal
from operations.engine import operation_execute
from operations.models import Operation
from operations.services import operation_approve, operation_request
from portal.azure import sql
from portal.management.commands.load_demo import catalogue_entry
from tenants.models import ActiveCopy, Tenant
from tenants.services import tenant_active_copy_set, tenant_import

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def replicated(azure_emulator) -> Iterator[tuple[Tenant, sql.DatabaseInfo]]:
    """The seeded tenant whose database Azure already geo-replicates to the paired server, and
    that geo-secondary (its tags put back afterwards)."""
    seeded = next(t for t in azure_emulator.tenants if t.get("geo_secondary_database_id"))
    tenant_import(entries=[catalogue_entry(seeded)], actor=None)
    secondary = sql.database_get(seeded["geo_secondary_database_id"])
    yield Tenant.objects.get(slug=seeded["slug"]), secondary
    sql.database_tags_set(secondary.id, dict(secondary.tags))


def runs_on(tenant: Tenant, database: sql.DatabaseInfo) -> None:
    tenant_active_copy_set(
        tenant=tenant,
        copy=ActiveCopy(
            region=database.location,
            sql_server_id=database.server_id,
            database_id=database.id,
            elastic_pool_id=database.elastic_pool_id or "",
            site_id=tenant.app_service_site_id,
            at_home=False,
        ),
    )


def test_a_copy_is_deletable_while_the_tenant_runs_on_another_online_primary(replicated):
    tenant, secondary = replicated
    assert sql.database_get(tenant.database_id).status == "Online"
    assert newer_copy_refusal(tenant=tenant, database=secondary) is None


def test_it_refuses_to_delete_the_copy_the_tenant_runs_on(replicated):
    tenant, secondary = replicated
    runs_on(tenant, secondary)
    refusal = newer_copy_refusal(tenant=tenant, database=secondary)
    assert refusal is not None
    assert "it is the copy" in refusal and tenant.slug in refusal


def test_it_refuses_when_the_newer_copy_is_a_geo_secondary_not_the_primary(replicated):
    tenant, secondary = replicated
    home = sql.database_get(tenant.database_id)
    runs_on(tenant, secondary)
    refusal = newer_copy_refusal(tenant=tenant, database=home)
    assert refusal == (
        f"{home.name} was not deleted: the copy {tenant.slug} runs on now, {secondary.name} on "
        f"{secondary.server_id.rsplit('/', 1)[-1]}, is a geo-secondary, not the primary."
    )


def test_it_refuses_when_the_newer_copy_is_gone(replicated):
    tenant, secondary = replicated
    runs_on(
        tenant,
        sql.DatabaseInfo(**{**secondary.__dict__, "id": f"{secondary.server_id}/databases/gone"}),
    )
    refusal = newer_copy_refusal(tenant=tenant, database=secondary)
    assert refusal is not None and "was not found" in refusal


def test_an_approved_deletion_that_would_remove_the_copy_the_tenant_runs_on_deletes_nothing(
    replicated, admin_user, second_admin
):
    tenant, secondary = replicated
    sql.database_tags_set(
        secondary.id,
        {**secondary.tags, "fleetwise-tenant": tenant.slug, "fleetwise-role": "failover"},
    )
    runs_on(tenant, secondary)
    operation = operation_request(
        kind="restore_cleanup",
        tenant=tenant,
        requested_by=admin_user,
        reason="after repatriation",
        parameters={
            "server_id": secondary.server_id,
            "database_name": secondary.name,
            "database_id": secondary.id,
            "keep_until": "",
        },
        enqueue=lambda pk, countdown: None,
    )
    operation_approve(operation=operation, approver=second_admin, enqueue=lambda pk, c: None)
    operation_execute(operation_id=operation.pk, enqueue=lambda pk, countdown: None)

    operation.refresh_from_db()
    assert operation.state == Operation.State.FAILED
    assert operation.error_code == "NewerCopyNotHealthy"
    assert "it is the copy" in operation.error_message
    assert operation.outcome == "Nothing was deleted."
    assert sql.database_get(secondary.id).status == "Online"
