"""The pre-flight plan against the emulator: every refusal says why and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backups.services import RestoreRefusedError, RestoreRequest, restore_plan, restore_request
from operations.models import Operation
from portal.management.commands.load_demo import catalogue_entry
from tenants.models import Tenant
from tenants.services import tenant_import
from tests.request_log import request_marker, writes_since

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def tenant_at(emulator, index: int) -> Tenant:
    entry = catalogue_entry(emulator.tenants[index])
    tenant_import(entries=[entry], actor=None)
    return Tenant.objects.get(slug=entry["slug"])


def utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def refused(azure_emulator, support):
    """Plans a request expecting a refusal; asserts Azure saw no write and nothing was queued."""

    def plan(tenant, request, user=None):
        before = request_marker(azure_emulator)
        with pytest.raises(RestoreRefusedError) as excinfo:
            restore_plan(tenant=tenant, user=user or support, request=request)
        assert writes_since(azure_emulator, before) == 0
        assert not Operation.objects.exists()
        return excinfo.value

    return plan


def test_a_plan_in_parallel_names_the_source_target_pool_and_keys(azure_emulator, support):
    tenant = tenant_at(azure_emulator, 6)
    when = datetime.now(UTC) - timedelta(hours=2)
    plan = restore_plan(
        tenant=tenant,
        user=support,
        request=RestoreRequest(mode="parallel", when=utc(when), in_utc=True),
    )
    checks = dict(plan.checks)
    assert checks["Source"].startswith(f"{tenant.database_name} as it was at ")
    assert "beside the live one" in checks["Target"]
    assert "free of" in checks["Elastic pool"]
    assert "all enabled" in checks["TDE key"]
    assert "database-level key" in checks["TDE key"]
    assert plan.parameters["encryption_protector"]
    assert plan.parameters["identity_ids"]
    assert plan.parameters["key_uris"]
    assert plan.parameters["target_name"].startswith(f"{tenant.database_name}-restore-")
    assert plan.steps == [
        "Check the source and the restore window",
        f"Restore into {plan.parameters['target_name']}",
        "Check the restored copy is online",
        "Check the restored copy kept the tenant's key",
    ]
    assert not plan.needs_approval


def test_an_in_place_plan_needs_approval_and_keeps_the_current_database(azure_emulator, support):
    tenant = tenant_at(azure_emulator, 6)
    when = datetime.now(UTC) - timedelta(hours=3)
    plan = restore_plan(
        tenant=tenant,
        user=support,
        request=RestoreRequest(mode="in_place", when=utc(when), in_utc=True),
    )
    assert plan.needs_approval
    assert dict(plan.checks)["Current database"].startswith(
        f"renamed to {tenant.database_name}-pre-restore-"
    )
    assert len(plan.steps) == 10
    assert plan.steps[3] == "Check the restored copy kept the tenant's key"


def test_a_time_before_the_window_is_refused_with_the_window(azure_emulator, refused):
    tenant = tenant_at(azure_emulator, 6)
    error = refused(
        tenant,
        RestoreRequest(
            mode="parallel", when=utc(datetime.now(UTC) - timedelta(days=9)), in_utc=True
        ),
    )
    assert "before the earliest restore point" in error.message
    assert "The restore window is" in error.message


def test_a_future_time_is_refused(azure_emulator, refused):
    tenant = tenant_at(azure_emulator, 6)
    error = refused(
        tenant,
        RestoreRequest(
            mode="parallel", when=utc(datetime.now(UTC) + timedelta(hours=1)), in_utc=True
        ),
    )
    assert "is in the future" in error.message


def test_the_last_minutes_are_refused(azure_emulator, refused):
    tenant = tenant_at(azure_emulator, 6)
    error = refused(
        tenant,
        RestoreRequest(
            mode="parallel", when=utc(datetime.now(UTC) - timedelta(minutes=2)), in_utc=True
        ),
    )
    assert "which Azure cannot restore to yet" in error.message


def test_a_local_time_skipped_by_daylight_saving_is_refused_with_both_readings(
    azure_emulator, refused
):
    tenant = tenant_at(azure_emulator, 6)
    error = refused(tenant, RestoreRequest(mode="parallel", when="2026-10-04 02:30", in_utc=False))
    assert "does not exist in Australia/Sydney" in error.message
    assert len(error.readings) == 2


def test_an_in_place_restore_of_a_geo_replicated_database_is_refused(azure_emulator, refused):
    index = next(
        i for i, t in enumerate(azure_emulator.tenants) if t.get("geo_secondary_database_id")
    )
    tenant = tenant_at(azure_emulator, index)
    error = refused(
        tenant,
        RestoreRequest(
            mode="in_place", when=utc(datetime.now(UTC) - timedelta(hours=2)), in_utc=True
        ),
    )
    assert "geo-replicated" in error.message


def test_a_tenant_whose_database_is_missing_is_refused(azure_emulator, refused):
    tenant = tenant_at(azure_emulator, 6)
    tenant.database_id = tenant.database_id + "-gone"
    tenant.save()
    error = refused(
        tenant,
        RestoreRequest(
            mode="parallel", when=utc(datetime.now(UTC) - timedelta(hours=2)), in_utc=True
        ),
    )
    assert "was not found in Azure" in error.message


def test_an_account_manager_may_not_plan_a_restore(azure_emulator, refused, account_manager):
    tenant = tenant_at(azure_emulator, 6)
    error = refused(
        tenant, RestoreRequest(mode="parallel", when="", in_utc=True), user=account_manager
    )
    assert "permission" in error.message


def test_a_disabled_key_version_in_use_since_the_restore_point_blocks_the_restore(
    azure_emulator, refused, monkeypatch
):
    from portal.azure import keyvault

    tenant = tenant_at(azure_emulator, 6)
    versions = keyvault.key_versions(tenant.key_vault_key_id)
    disabled = [versions[-1].__class__(**{**versions[-1].__dict__, "enabled": False})]
    monkeypatch.setattr(keyvault, "key_versions", lambda key_id: versions[:-1] + disabled)
    error = refused(
        tenant,
        RestoreRequest(
            mode="parallel", when=utc(datetime.now(UTC) - timedelta(hours=2)), in_utc=True
        ),
    )
    assert "are disabled" in error.message


def test_the_slug_must_be_typed_to_confirm(azure_emulator, support):
    tenant = tenant_at(azure_emulator, 6)
    with pytest.raises(RestoreRefusedError, match="Type the tenant's slug"):
        restore_request(
            tenant=tenant,
            user=support,
            request=RestoreRequest(
                mode="parallel", when=utc(datetime.now(UTC) - timedelta(hours=2)), in_utc=True
            ),
            reason="x",
            ticket="",
            confirm_slug="someone-else",
        )
    assert not Operation.objects.exists()


def test_a_long_term_backup_and_a_deleted_database_can_be_planned(azure_emulator, support):
    from portal.azure import sql

    tenant = tenant_at(azure_emulator, 0)
    backup = sql.long_term_retention_backups(tenant.database_id)[-1]
    plan = restore_plan(
        tenant=tenant,
        user=support,
        request=RestoreRequest(
            mode="parallel", source="long_term_backup", long_term_backup_id=backup.id
        ),
    )
    assert plan.parameters["create_mode"] == "RestoreLongTermRetentionBackup"
    assert dict(plan.checks)["Source"].startswith("long-term backup of ")

    dropped = sql.restorable_dropped_databases(tenant.sql_server_id)[0]
    plan = restore_plan(
        tenant=tenant,
        user=support,
        request=RestoreRequest(
            mode="parallel", source="deleted_database", dropped_database_id=dropped.id
        ),
    )
    assert plan.parameters["create_mode"] == "Restore"
    assert f"deleted database {dropped.database_name}" in dict(plan.checks)["Source"]


def test_a_tenant_without_backups_yet_is_refused(azure_emulator, refused, monkeypatch):
    from dataclasses import replace

    from portal.azure import sql

    tenant = tenant_at(azure_emulator, 6)
    real = sql.database_get

    def without_backups(database_id):
        return replace(real(database_id), earliest_restore_date=None)

    monkeypatch.setattr(sql, "database_get", without_backups)
    error = refused(
        tenant,
        RestoreRequest(
            mode="parallel", when=utc(datetime.now(UTC) - timedelta(hours=2)), in_utc=True
        ),
    )
    assert "has no backups yet" in error.message


def test_a_cleanup_never_deletes_a_database_that_is_not_an_expired_copy(azure_emulator, admin_user):
    from backups.services import ExpiredCopy, restore_cleanup_request
    from operations.engine import operation_execute
    from operations.services import operation_approve
    from portal import roles
    from portal.azure import sql
    from tests.factories import UserFactory

    tenant = tenant_at(azure_emulator, 6)
    live = sql.database_get(tenant.database_id)
    # As if someone pointed a cleanup at the live database.
    copy = ExpiredCopy(
        tenant, live.id, live.name, "restore-copy", datetime.now(UTC) - timedelta(days=1)
    )
    operation = restore_cleanup_request(copy=copy, user=admin_user, reason="mistake")
    second = UserFactory(username="blake.admin@fleetwise.example", groups=[roles.ADMINS])
    operation_approve(operation=operation, approver=second, enqueue=lambda pk, countdown: None)
    operation_execute(operation_id=operation.pk, enqueue=lambda pk, countdown: None)
    operation.refresh_from_db()
    assert operation.state == "failed"
    assert operation.error_code == "NotDisposable"
    assert operation.outcome == "Nothing was deleted."
    assert sql.database_get(tenant.database_id).status == "Online"


def test_the_plan_says_azure_will_queue_a_restore_behind_others_in_the_pool(
    azure_emulator, support, settings
):
    from tests.factories import TenantFactory

    tenant = tenant_at(azure_emulator, 6)
    settings.RESTORE_MAX_PER_POOL = 2
    request = RestoreRequest(
        mode="parallel", when=utc(datetime.now(UTC) - timedelta(hours=2)), in_utc=True
    )
    assert dict(restore_plan(tenant=tenant, user=support, request=request).checks)[
        "Restore queue"
    ].startswith("0 other restore(s) under way in the pool")

    for state in ("running", "running", "queued"):
        Operation.objects.create(
            tenant=TenantFactory(),
            kind="restore_parallel",
            state=state,
            requested_by=support,
            parameters={"elastic_pool_id": tenant.elastic_pool_id},
        )
    finding = dict(restore_plan(tenant=tenant, user=support, request=request).checks)[
        "Restore queue"
    ]

    assert finding.startswith("Azure will queue this restore behind 2 other(s) in the pool")
