"""portal.azure.sql through azure-mgmt-sql against the emulator."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from portal.azure import clients, sql
from portal.azure.errors import AzureNotFoundError, AzureOperationError, AzureTransientError
from tests.azure.conftest import fresh_caches, unique

pytestmark = [pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]


def parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def lineage(emulator, database_id):
    """The emulator's record of how a database came to be (not visible through ARM)."""
    return emulator.control("GET", f"resource?id={database_id}")["_meta"]["lineage"]


# -- reading databases ------------------------------------------------------------------------------


def test_it_reads_a_tenant_database_as_our_own_dataclass(azure_emulator, tenant):
    info = sql.database_get(tenant["database_id"])

    assert isinstance(info, sql.DatabaseInfo)
    assert info.id.lower() == tenant["database_id"].lower()
    assert info.name == tenant["database_name"]
    assert info.server_id.lower() == tenant["sql_server_id"].lower()
    assert info.status == "Online" and info.is_online
    assert info.elastic_pool_id is not None
    assert info.elastic_pool_id.lower() == tenant["elastic_pool_id"].lower()
    assert info.sku_name == "ElasticPool"
    assert info.tags["fleetwise-tenant"] == tenant["slug"]
    assert info.backup_storage_redundancy in ("Local", "Geo", "Zone", "GeoZone")
    assert info.max_size_bytes and info.max_size_bytes > 0
    for moment in (info.creation_date, info.earliest_restore_date):
        assert moment is not None and moment.tzinfo is not None
        assert moment.utcoffset() == timedelta(0)
    assert info.creation_date <= info.earliest_restore_date
    assert info.secondary_type is None


def test_a_missing_database_is_not_found_and_find_answers_none(azure_emulator, tenant):
    missing = f"{tenant['sql_server_id']}/databases/{unique('nothing')}"

    with pytest.raises(AzureNotFoundError) as caught:
        sql.database_get(missing)

    assert caught.value.status == 404
    assert sql.database_find(tenant["sql_server_id"], missing.rsplit("/", 1)[-1]) is None
    assert sql.database_find(tenant["sql_server_id"], tenant["database_name"]) is not None


def test_find_on_a_missing_server_is_an_error_not_an_absent_database(azure_emulator, tenant):
    server_id = tenant["sql_server_id"].rsplit("/", 1)[0] + "/" + unique("no-server")

    with pytest.raises(AzureNotFoundError) as caught:
        sql.database_find(server_id, tenant["database_name"])

    assert caught.value.code == "ParentResourceNotFound"


def test_listing_a_server_leaves_out_master(azure_emulator, tenant):
    names = [d.name for d in sql.databases_list(tenant["sql_server_id"])]

    assert tenant["database_name"] in names
    assert "master" not in names
    assert names == sorted(names, key=str.lower)


def test_throttling_that_outlasts_the_sdk_retries_is_transient(azure_emulator, tenant, faults):
    # One call plus the SDK's three status retries, each honouring Retry-After.
    faults(
        "fail-next",
        operation="databases.get",
        count=4,
        status=429,
        code="TooManyRequests",
        message="Rate limit exceeded",
        retry_after=0.1,
    )

    with pytest.raises(AzureTransientError) as caught:
        sql.database_get(tenant["database_id"])

    assert caught.value.status == 429
    assert caught.value.code == "TooManyRequests"


def test_a_brief_throttle_is_absorbed_by_the_sdk_retries(azure_emulator, tenant, faults):
    faults("fail-next", operation="databases.get", count=2, status=429, retry_after=0.1)

    assert sql.database_get(tenant["database_id"]).is_online


def test_a_service_outage_is_transient(azure_emulator, tenant, faults):
    faults(
        "fail-next",
        operation="elastic_pools.get",
        count=4,
        status=503,
        code="ServiceUnavailable",
        message="The service is unavailable",
        retry_after=0.1,
    )

    with pytest.raises(AzureTransientError) as caught:
        sql.elastic_pool_get(tenant["elastic_pool_id"])

    assert caught.value.code == "ServiceUnavailable"


# -- restores ---------------------------------------------------------------------------------------


def test_a_restore_begun_in_one_process_finishes_from_its_token_in_another(azure_emulator, tenant):
    live = sql.database_get(tenant["database_id"])
    point = live.earliest_restore_date + timedelta(hours=1)
    target_id = f"{live.server_id}/databases/{unique(live.name + '-restore')}"

    started = time.monotonic()
    token = sql.database_restore_begin(
        target_id=target_id,
        location=live.location,
        create_mode="PointInTimeRestore",
        source_database_id=live.id,
        restore_point_in_time=point,
        elastic_pool_id=live.elastic_pool_id,
        tags={"fleetwise-tenant": tenant["slug"], "fleetwise-operation": "42"},
    )
    # Begin did not wait: the copy exists and is still restoring.
    assert sql.database_get(target_id).status == "Restoring"
    assert isinstance(token, str) and token

    fresh_caches()  # a new worker: no clients, no connection, only the token
    outcome = sql.database_restore_wait(
        target_id=target_id, continuation_token=token, timeout_seconds=30
    )
    elapsed = time.monotonic() - started

    assert outcome == sql.LroOutcome(done=True, succeeded=True, status="Succeeded")
    # The emulator's LRO takes 1 s and it sends Retry-After: 1, which the SDK honours: well
    # under the 5 s polling interval used when Azure sends none.
    assert elapsed < clients.POLLING_INTERVAL
    copy = sql.database_get(target_id)
    assert copy.is_online
    assert copy.elastic_pool_id.lower() == live.elastic_pool_id.lower()
    assert copy.tags == {"fleetwise-tenant": tenant["slug"], "fleetwise-operation": "42"}
    recorded = lineage(azure_emulator, target_id)
    assert recorded["create_mode"] == "PointInTimeRestore"
    assert recorded["source_database_id"].lower() == live.id.lower()
    assert parse_time(recorded["restore_point_in_time"]) == point
    # Waiting again on a finished operation gives the same answer (a resumed worker may).
    assert sql.database_restore_wait(
        target_id=target_id, continuation_token=token, timeout_seconds=5
    ).succeeded
    sql.database_delete_begin(target_id)


def test_a_restore_token_resumes_in_a_separate_python_process(azure_emulator, tenant):
    live = sql.database_get(tenant["database_id"])
    target_id = f"{live.server_id}/databases/{unique(live.name + '-restore')}"
    token = sql.database_restore_begin(
        target_id=target_id,
        location=live.location,
        create_mode="PointInTimeRestore",
        source_database_id=live.id,
        restore_point_in_time=live.earliest_restore_date + timedelta(minutes=30),
        tags={"fleetwise-test": "subprocess"},
    )
    script = (
        "import django; django.setup()\n"
        "import sys\n"
        "from portal.azure import sql\n"
        "outcome = sql.database_restore_wait(target_id=sys.argv[1], "
        "continuation_token=sys.stdin.read(), timeout_seconds=30)\n"
        "print(outcome.done, outcome.succeeded, outcome.status)\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PORTAL_AZURE": "emulator",
        "PORTAL_EMULATOR_STATE_DIR": str(azure_emulator.state_dir),
    }

    result = subprocess.run(
        [sys.executable, "-c", script, target_id],
        input=token,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "Succeeded"]
    assert sql.database_get(target_id).is_online
    sql.database_delete_begin(target_id)


def test_a_wait_that_runs_out_reports_the_restore_still_running(azure_emulator, tenant):
    live = sql.database_get(tenant["database_id"])
    target_id = f"{live.server_id}/databases/{unique(live.name + '-restore')}"
    token = sql.database_restore_begin(
        target_id=target_id,
        location=live.location,
        create_mode="PointInTimeRestore",
        source_database_id=live.id,
        restore_point_in_time=live.earliest_restore_date + timedelta(minutes=10),
        tags={},
    )

    early = sql.database_restore_wait(
        target_id=target_id, continuation_token=token, timeout_seconds=0
    )
    later = sql.database_restore_wait(
        target_id=target_id, continuation_token=token, timeout_seconds=30
    )

    assert (early.done, early.succeeded, early.status) == (False, False, "InProgress")
    assert (later.done, later.succeeded) == (True, True)
    sql.database_delete_begin(target_id)


def test_a_restore_failing_midway_is_a_failed_outcome_with_azures_code(
    azure_emulator, tenant, faults
):
    faults(
        "fail-lro",
        operation="databases.create_or_update",
        code="KeyMaterialNotFoundOnRemoteServer",
        message="Target server does not have access to all AKV URIs.",
    )
    live = sql.database_get(tenant["database_id"])
    target_id = f"{live.server_id}/databases/{unique(live.name + '-restore')}"
    token = sql.database_restore_begin(
        target_id=target_id,
        location=live.location,
        create_mode="PointInTimeRestore",
        source_database_id=live.id,
        restore_point_in_time=live.earliest_restore_date + timedelta(minutes=10),
        tags={},
    )

    outcome = sql.database_restore_wait(
        target_id=target_id, continuation_token=token, timeout_seconds=30
    )

    assert outcome.done and not outcome.succeeded
    assert outcome.status == "Failed"
    assert outcome.error_code == "KeyMaterialNotFoundOnRemoteServer"
    assert "AKV URIs" in outcome.error_message
    # Azure removes the half-restored database.
    assert sql.database_find(live.server_id, target_id.rsplit("/", 1)[-1]) is None


def test_a_time_before_the_earliest_restore_point_is_refused_with_azures_code(
    azure_emulator, tenant
):
    live = sql.database_get(tenant["database_id"])
    name = unique(live.name + "-restore")

    with pytest.raises(AzureOperationError) as caught:
        sql.database_restore_begin(
            target_id=f"{live.server_id}/databases/{name}",
            location=live.location,
            create_mode="PointInTimeRestore",
            source_database_id=live.id,
            restore_point_in_time=live.earliest_restore_date - timedelta(days=1),
            tags={},
        )

    assert not isinstance(caught.value, AzureTransientError)
    assert caught.value.code == "InvalidLiveDatabase"
    assert caught.value.status == 400
    assert sql.database_find(live.server_id, name) is None


def test_restoring_onto_an_existing_name_is_refused(azure_emulator, tenant):
    live = sql.database_get(tenant["database_id"])

    with pytest.raises(AzureOperationError) as caught:
        sql.database_restore_begin(
            target_id=live.id,
            location=live.location,
            create_mode="PointInTimeRestore",
            source_database_id=live.id,
            restore_point_in_time=live.earliest_restore_date + timedelta(minutes=10),
            tags={},
        )

    assert caught.value.code == "RemoteDatabaseExists"


def test_a_naive_restore_time_is_refused_before_azure_is_called(azure_emulator, tenant):
    with pytest.raises(ValueError, match="timezone-aware"):
        sql.database_restore_begin(
            target_id=f"{tenant['sql_server_id']}/databases/{unique('x')}",
            location="australiaeast",
            create_mode="PointInTimeRestore",
            source_database_id=tenant["database_id"],
            restore_point_in_time=datetime(2025, 1, 1, 12, 0),  # noqa: DTZ001 - the point
            tags={},
        )


def test_the_restore_limit_is_transient_and_not_slept_through(azure_emulator, tenant, faults):
    # Azure's concurrent-restore limit answers 429 with a long Retry-After; the restore PUT is
    # not retried inside the SDK, so the worker is not blocked for minutes.
    faults(
        "fail-next",
        operation="databases.create_or_update",
        count=1,
        status=429,
        code="SubscriptionTooManyCreateUpdateRequests",
        message="Requests beyond max requests that can be processed by available resources.",
        retry_after=30,
    )
    live = sql.database_get(tenant["database_id"])
    name = unique(live.name + "-restore")

    started = time.monotonic()
    with pytest.raises(AzureTransientError) as caught:
        sql.database_restore_begin(
            target_id=f"{live.server_id}/databases/{name}",
            location=live.location,
            create_mode="PointInTimeRestore",
            source_database_id=live.id,
            restore_point_in_time=live.earliest_restore_date + timedelta(minutes=10),
            tags={},
        )

    assert time.monotonic() - started < 5
    assert caught.value.code == "SubscriptionTooManyCreateUpdateRequests"
    assert sql.database_find(live.server_id, name) is None


def test_an_unusable_continuation_token_is_an_operation_error(azure_emulator, tenant):
    with pytest.raises(AzureOperationError) as caught:
        sql.database_restore_wait(
            target_id=tenant["database_id"], continuation_token="not-a-token", timeout_seconds=1
        )

    assert caught.value.code == "InvalidToken"


def _forget_operation(token):
    """The same token with its status URLs naming an operation Azure does not know (records of
    finished operations expire). The token is azure-core 1.41's base64 JSON; if its format
    changes this helper fails loudly."""
    state = json.loads(base64.b64decode(token))
    headers = state["data"]["response"]["headers"]
    for name, url in headers.items():
        if name.lower() in ("azure-asyncoperation", "location"):
            headers[name] = url.rsplit("/", 1)[0] + "/" + str(uuid.uuid4())
    return base64.b64encode(json.dumps(state).encode()).decode()


def test_an_operation_azure_no_longer_knows_is_not_found_rather_than_failed(azure_emulator, tenant):
    live = sql.database_get(tenant["database_id"])
    target_id = f"{live.server_id}/databases/{unique(live.name + '-restore')}"
    token = sql.database_restore_begin(
        target_id=target_id,
        location=live.location,
        create_mode="PointInTimeRestore",
        source_database_id=live.id,
        restore_point_in_time=live.earliest_restore_date + timedelta(minutes=10),
        tags={},
    )

    with pytest.raises(AzureNotFoundError) as caught:
        sql.database_restore_wait(
            target_id=target_id, continuation_token=_forget_operation(token), timeout_seconds=5
        )

    assert caught.value.status == 404
    assert sql.database_restore_wait(
        target_id=target_id, continuation_token=token, timeout_seconds=30
    ).succeeded
    sql.database_delete_begin(target_id)


def test_a_long_term_backup_restores_into_a_new_database(azure_emulator, tenant):
    backups = sql.long_term_retention_backups(tenant["database_id"])
    assert backups, "the seeded tenant database keeps weekly LTR backups"
    newest = backups[-1]
    live = sql.database_get(tenant["database_id"])
    target_id = f"{live.server_id}/databases/{unique(live.name + '-ltr')}"

    token = sql.database_restore_begin(
        target_id=target_id,
        location=live.location,
        create_mode="RestoreLongTermRetentionBackup",
        long_term_retention_backup_id=newest.id,
        elastic_pool_id=live.elastic_pool_id,
        tags={},
    )
    outcome = sql.database_restore_wait(
        target_id=target_id, continuation_token=token, timeout_seconds=30
    )

    assert outcome.succeeded
    recorded = lineage(azure_emulator, target_id)
    assert recorded["source_kind"] == "ltr_backup"
    assert parse_time(recorded["restore_point_in_time"]) == newest.backup_time
    sql.database_delete_begin(target_id)


# -- rename, delete, tags ---------------------------------------------------------------------------


def test_a_renamed_database_is_found_by_its_new_id_only(azure_emulator, restored_copy):
    copy = restored_copy()
    new_name = unique("renamed")

    new_id = sql.database_rename(copy.id, new_name)

    assert new_id.lower() == f"{copy.server_id}/databases/{new_name}".lower()
    renamed = sql.database_get(new_id)
    assert renamed.name == new_name
    assert renamed.tags == copy.tags
    with pytest.raises(AzureNotFoundError):
        sql.database_get(copy.id)
    sql.database_delete_begin(new_id)


def test_renaming_onto_an_existing_name_is_refused(azure_emulator, tenant, restored_copy):
    copy = restored_copy()

    with pytest.raises(AzureOperationError) as caught:
        sql.database_rename(copy.id, tenant["database_name"])

    assert (caught.value.status, caught.value.code) == (400, "DatabaseNameInUse")
    assert caught.value.message == (
        f"Cannot rename {copy.name} to {tenant['database_name']}: server "
        f"{tenant['sql_server_name']} already has a database named {tenant['database_name']}."
    )
    assert sql.database_get(copy.id).is_online


def test_a_deleted_database_becomes_restorable_and_can_be_restored(azure_emulator, restored_copy):
    copy = restored_copy()

    token = sql.database_delete_begin(copy.id)
    fresh_caches()
    outcome = sql.database_delete_wait(
        database_id=copy.id, continuation_token=token, timeout_seconds=30
    )

    assert (outcome.done, outcome.succeeded) == (True, True)
    assert sql.database_find(copy.server_id, copy.name) is None

    def dropped_now() -> list[sql.DroppedDatabase]:
        return [
            d
            for d in sql.restorable_dropped_databases(copy.server_id)
            if d.database_name == copy.name
        ]

    # Azure lists a deleted database as restorable a few minutes after the delete.
    assert dropped_now() == []
    offset = azure_emulator.control("POST", "clock", {"advance_seconds": 0})["offset_seconds"]
    azure_emulator.control("POST", "clock", {"advance_seconds": 6 * 60})
    try:
        _restore_the_deleted_copy(azure_emulator, copy, dropped_now())
    finally:
        azure_emulator.control("POST", "clock", {"offset_seconds": offset})


def _restore_the_deleted_copy(azure_emulator, copy, dropped):
    assert len(dropped) == 1
    entry = dropped[0]
    assert entry.database_id.lower() == copy.id.lower()
    assert entry.deletion_date.tzinfo is not None
    assert (
        entry.earliest_restore_date is not None
        and entry.earliest_restore_date <= entry.deletion_date
    )
    assert entry.tags == copy.tags

    target_id = f"{copy.server_id}/databases/{unique('undeleted')}"
    token = sql.database_restore_begin(
        target_id=target_id,
        location=copy.location,
        create_mode="Restore",
        restorable_dropped_database_id=entry.id,
        tags={},
    )
    restored = sql.database_restore_wait(
        target_id=target_id, continuation_token=token, timeout_seconds=30
    )
    assert restored.succeeded
    assert lineage(azure_emulator, target_id)["source_kind"] == "dropped"
    sql.database_delete_begin(target_id)


def test_deleting_a_missing_database_is_already_done(azure_emulator, tenant):
    missing = f"{tenant['sql_server_id']}/databases/{unique('gone')}"

    token = sql.database_delete_begin(missing)
    outcome = sql.database_delete_wait(
        database_id=missing, continuation_token=token, timeout_seconds=5
    )

    assert (outcome.done, outcome.succeeded) == (True, True)


def test_a_running_restore_is_cancelled_by_deleting_its_target(azure_emulator, tenant):
    live = sql.database_get(tenant["database_id"])
    target_id = f"{live.server_id}/databases/{unique(live.name + '-restore')}"
    azure_emulator.control("POST", "lro", {"seconds": 5, "operation": "databases.create_or_update"})
    try:
        restore_token = sql.database_restore_begin(
            target_id=target_id,
            location=live.location,
            create_mode="PointInTimeRestore",
            source_database_id=live.id,
            restore_point_in_time=live.earliest_restore_date + timedelta(minutes=10),
            tags={},
        )
    finally:
        azure_emulator.control(
            "POST", "lro", {"seconds": 1, "operation": "databases.create_or_update"}
        )

    delete_token = sql.database_delete_begin(target_id)
    deleted = sql.database_delete_wait(
        database_id=target_id, continuation_token=delete_token, timeout_seconds=30
    )
    restore = sql.database_restore_wait(
        target_id=target_id, continuation_token=restore_token, timeout_seconds=30
    )

    assert deleted.succeeded
    assert restore.done and not restore.succeeded
    assert sql.database_find(live.server_id, target_id.rsplit("/", 1)[-1]) is None


def test_tags_are_replaced_as_a_whole(azure_emulator, restored_copy):
    copy = restored_copy()

    first = sql.database_tags_set(copy.id, {**copy.tags, "fleetwise-keep-until": "2030-01-01"})
    second = sql.database_tags_set(copy.id, {"only": "this"})

    assert first.tags == {**copy.tags, "fleetwise-keep-until": "2030-01-01"}
    assert second.tags == {"only": "this"}
    assert sql.database_get(copy.id).tags == {"only": "this"}


# -- pools, backups, policies -----------------------------------------------------------------------


def test_a_pool_reports_its_size_and_members(azure_emulator, tenant):
    pool = sql.elastic_pool_get(tenant["elastic_pool_id"])
    members = sql.elastic_pool_databases(tenant["elastic_pool_id"])

    assert pool.id.lower() == tenant["elastic_pool_id"].lower()
    assert pool.state == "Ready"
    assert pool.sku_name in ("StandardPool", "GP_Gen5")
    assert pool.capacity and pool.capacity > 0
    assert pool.max_size_bytes and pool.max_size_bytes > 0
    assert pool.per_database_max_capacity is not None
    assert tenant["database_name"] in [m.name for m in members]
    assert all(m.elastic_pool_id.lower() == pool.id.lower() for m in members)


def test_a_missing_pool_is_not_found(azure_emulator, tenant):
    with pytest.raises(AzureNotFoundError):
        sql.elastic_pool_get(tenant["elastic_pool_id"] + "-nope")


def test_long_term_backups_are_weekly_and_oldest_first(azure_emulator, tenant):
    backups = sql.long_term_retention_backups(tenant["database_id"])

    assert backups
    times = [b.backup_time for b in backups]
    assert times == sorted(times)
    assert all(t.tzinfo is not None and t.weekday() == 6 for t in times)
    assert all(b.database_name == tenant["database_name"] for b in backups)
    assert all(b.expiration_time and b.expiration_time > b.backup_time for b in backups)
    assert all(b.database_deletion_time is None for b in backups)
    assert "/longTermRetentionBackups/" in backups[0].id


def test_long_term_backups_of_a_missing_server_are_not_found(azure_emulator, tenant):
    server = tenant["sql_server_id"] + "-nope"

    with pytest.raises(AzureNotFoundError):
        sql.long_term_retention_backups(f"{server}/databases/{tenant['database_name']}")


def test_the_ltr_policy_can_be_copied_to_another_database(azure_emulator, tenant, restored_copy):
    live_policy = sql.ltr_policy_get(tenant["database_id"])
    copy = restored_copy()
    changed = sql.LtrPolicy(weekly_retention="P8W", monthly_retention="P12M", week_of_year=0)

    assert sql.ltr_policy_set(copy.id, changed) == changed
    assert sql.ltr_policy_get(copy.id) == changed
    assert sql.ltr_policy_set(copy.id, live_policy) == live_policy
    assert live_policy.weekly_retention == "P52W"


def test_an_invalid_ltr_policy_is_refused(azure_emulator, restored_copy):
    copy = restored_copy()

    with pytest.raises(AzureOperationError) as caught:
        sql.ltr_policy_set(copy.id, sql.LtrPolicy(weekly_retention="two weeks"))

    assert caught.value.code == "InvalidRetentionPeriod"


def test_auditing_can_be_copied_to_another_database(azure_emulator, tenant, restored_copy):
    live = sql.database_auditing_get(tenant["database_id"])
    copy = restored_copy()

    applied = sql.database_auditing_set(copy.id, live)

    assert live.state == "Enabled"
    assert live.is_azure_monitor_target_enabled
    assert applied == live
    assert sql.database_auditing_get(copy.id) == live


def test_auditing_without_a_target_is_refused(azure_emulator, restored_copy):
    copy = restored_copy()

    with pytest.raises(AzureOperationError) as caught:
        sql.database_auditing_set(copy.id, sql.AuditingPolicy(state="Enabled", retention_days=7))

    assert caught.value.code == "DataSecurityInvalidUserSuppliedParameter"


# -- geo-replication and keys -----------------------------------------------------------------------


def _geo_replicated(emulator):
    found = [t for t in emulator.tenants if t["geo_secondary_database_id"]]
    assert found, "the seed geo-replicates at least one tenant"
    return found[0]


def test_a_geo_replicated_database_names_its_secondary(azure_emulator):
    tenant = _geo_replicated(azure_emulator)

    partners = sql.geo_replication_partners(tenant["database_id"])
    only_named = sql.geo_replication_partners(
        tenant["database_id"], partner_server_ids=[tenant["geo_server_id"]]
    )

    assert [p.lower() for p in partners] == [tenant["geo_secondary_database_id"].lower()]
    assert only_named == partners
    assert sql.database_get(partners[0]).secondary_type == "Geo"


def test_a_database_without_replicas_has_no_partners(azure_emulator):
    tenant = next(t for t in azure_emulator.tenants if not t["geo_secondary_database_id"])

    assert sql.geo_replication_partners(tenant["database_id"]) == []


def test_a_geo_replicated_database_cannot_be_renamed(azure_emulator):
    tenant = _geo_replicated(azure_emulator)

    with pytest.raises(AzureOperationError) as caught:
        sql.database_rename(tenant["database_id"], unique("swap"))

    assert (caught.value.status, caught.value.code) == (
        409,
        "InvalidOperationForDatabaseInReplicationRelationship",
    )
    assert "geo-replicated" in caught.value.message
    assert "Remove the geo-replica first" in caught.value.message
    assert sql.database_get(tenant["database_id"]).is_online


def test_the_server_holds_every_version_of_the_tenants_key(azure_emulator, tenant):
    keys = sql.server_keys(tenant["sql_server_id"])
    protector = sql.encryption_protector(tenant["sql_server_id"])

    uris = [k.uri.lower() for k in keys if k.uri]
    assert tenant["key_id"].lower() in uris
    assert any(k.server_key_type == "ServiceManaged" for k in keys)
    vault_keys = [k for k in keys if k.server_key_type == "AzureKeyVault"]
    assert all(k.creation_date and k.key_version for k in vault_keys)
    assert protector.server_key_type in ("ServiceManaged", "AzureKeyVault")
    assert protector.server_key_name


def test_a_database_with_its_own_key_lists_the_versions_it_uses(azure_emulator, tenant):
    assert "service_managed_tde" not in tenant["seeded_issues"]
    info = sql.database_get(tenant["database_id"])

    keys = sql.database_keys(tenant["database_id"])
    at_creation = sql.database_keys(tenant["database_id"], at=info.creation_date)

    assert info.encryption_protector is not None
    assert info.encryption_protector.lower() == tenant["key_id"].lower()
    assert tenant["key_id"].lower() in [k.uri.lower() for k in keys]
    assert [k.creation_date for k in keys] == sorted(k.creation_date for k in keys)
    assert at_creation  # the emulator ignores the point in time and lists the whole history


def test_keys_of_a_missing_server_are_not_found(azure_emulator, tenant):
    with pytest.raises(AzureNotFoundError):
        sql.server_keys(tenant["sql_server_id"] + "-nope")


def test_an_id_of_the_wrong_type_is_refused_before_azure_is_called(azure_emulator, tenant):
    with pytest.raises(ValueError, match="Microsoft.Sql/servers/databases"):
        sql.database_get(tenant["sql_server_id"])


def test_datetimes_are_utc(azure_emulator, tenant):
    dropped = sql.restorable_dropped_databases(tenant["sql_server_id"])

    for entry in dropped:
        assert entry.deletion_date.utcoffset() == timedelta(0)
        assert entry.deletion_date <= datetime.now(UTC) + timedelta(days=1)
