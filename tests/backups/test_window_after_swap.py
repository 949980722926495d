"""The restore window after an in-place restore, against the emulator: the plan, the restore
form's snapshot and the tenant page show the whole lineage, part by part."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from backups.models import RestoreSnapshot
from backups.services import RestoreRequest, restore_plan, restore_snapshot_refresh
from monitoring.models import RefreshRun, TenantHealth
from monitoring.services import fleet_refresh
from portal.azure import sql
from portal.management.commands.load_demo import catalogue_entry
from tenants.models import Tenant
from tenants.services import tenant_import

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def swapped(azure_emulator, settings) -> Iterator[tuple[Tenant, str]]:
    """A tenant after an in-place restore done by hand: (tenant, kept pre-restore name).
    Undone afterwards, as the emulator is shared by the session."""
    # The swap happened seconds ago; with the usual lag the live database has no part yet.
    settings.RESTORE_LATEST_LAG_MINUTES = 0
    # Not a geo-replicated tenant: Azure does not rename a database in a replication
    # relationship, and the swap renames.
    plain = [t for t in azure_emulator.tenants if not t.get("geo_secondary_database_id")]
    entry = catalogue_entry(plain[-1])
    tenant_import(entries=[entry], actor=None)
    tenant = Tenant.objects.get(slug=entry["slug"])
    live = sql.database_get(tenant.database_id)
    copy_id = f"{tenant.sql_server_id}/databases/{tenant.database_name}-restore-swaptest"
    pre_name = f"{tenant.database_name}-pre-restore-20260101-000000"
    token = sql.database_restore_begin(
        target_id=copy_id,
        location=live.location,
        create_mode="PointInTimeRestore",
        source_database_id=live.id,
        restore_point_in_time=datetime.now(UTC) - timedelta(hours=3),
        elastic_pool_id=live.elastic_pool_id,
        tags={},
    )
    assert sql.database_restore_wait(
        target_id=copy_id, continuation_token=token, timeout_seconds=60
    ).succeeded
    pre_id = sql.database_rename(live.id, pre_name)
    sql.database_rename(copy_id, tenant.database_name)
    try:
        yield tenant, pre_name
    finally:
        restored_id = sql.database_rename(tenant.database_id, "db-swaptest-discard")
        sql.database_rename(pre_id, tenant.database_name)
        sql.database_delete_begin(restored_id)


def test_the_plan_restores_a_time_before_the_swap_from_the_kept_database(swapped, support):
    tenant, pre_name = swapped
    when = datetime.now(UTC) - timedelta(hours=2)

    plan = restore_plan(
        tenant=tenant,
        user=support,
        request=RestoreRequest(
            mode="parallel", when=when.strftime("%Y-%m-%d %H:%M:%S"), in_utc=True
        ),
    )

    checks = dict(plan.checks)
    assert checks["Source"].startswith(f"{pre_name} as it was at ")
    assert plan.parameters["source_database_id"].lower().endswith(f"/databases/{pre_name}")
    window = checks["Restore window"]
    assert f"from {pre_name}" in window and window.endswith(f"from {tenant.database_name}")


def test_the_snapshot_and_tenant_page_show_the_window_across_the_lineage(swapped, support, client):
    tenant, pre_name = swapped

    snapshot = restore_snapshot_refresh(tenant=tenant)

    assert snapshot.error == ""
    parts = snapshot.window_parts
    assert [p["database_name"] for p in parts] == [pre_name, tenant.database_name]
    assert all(p["earliest"] < p["latest"] for p in parts)
    assert parts[0]["latest"] <= parts[1]["earliest"]
    assert snapshot.earliest_restore_at.isoformat() == parts[0]["earliest"]
    # Long-term backups under the old name are offered too.
    assert {b["database_name"] for b in snapshot.long_term_backups} >= {pre_name}

    assert RestoreSnapshot.objects.get(tenant=tenant).window_parts == parts
    # The tenant page's one restore window comes from the hot refresh (the server's database
    # list it reads anyway), across the same lineage, and names the deleted databases the
    # restore form's snapshot found.
    fleet_refresh(kind=RefreshRun.Kind.HOT, tenants=[tenant])
    health = TenantHealth.objects.get(tenant=tenant)
    assert [p["database_name"] for p in health.backup_window_parts] == [
        pre_name,
        tenant.database_name,
    ]
    # The emulator slides the oldest point with the clock (retention ends now): read moments apart.
    first = datetime.fromisoformat(parts[0]["earliest"])
    assert abs(health.backup_earliest - first) < timedelta(seconds=30)
    client.force_login(support)
    page = client.get(f"/fleet/{tenant.slug}/").content.decode()
    assert page.count('id="tenant-window-parts"') == 1
    assert page.count("Earliest restore point") == 1
    assert f"<code>{pre_name}</code>" in page
    assert f"<code>{tenant.database_name}</code>" in page
    assert 'id="dropped-databases">' in page
