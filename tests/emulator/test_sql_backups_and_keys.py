"""Backups (restore points, retention policies, LTR, geo backups) and TDE keys through azure-mgmt-sql."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.keyvault.keys import KeyClient
from azure.mgmt.sql.models import (
    BackupShortTermRetentionPolicy,
    Database,
    EncryptionProtector,
    ServerKey,
)


def _where(tenant):
    return tenant["sql_resource_group"], tenant["sql_server_name"]


def test_the_restore_point_starts_seven_days_back_or_at_creation(fresh, sql_client):
    tenant = fresh.tenants[0]
    client = sql_client(tenant["subscription_id"])
    (point,) = client.restore_points.list_by_database(*_where(tenant), tenant["database_name"])
    db = client.databases.get(*_where(tenant), tenant["database_name"])
    expected = max(db.creation_date, datetime.now(UTC) - timedelta(days=7))
    assert point.restore_point_type == "CONTINUOUS"
    assert abs((point.earliest_restore_date - expected).total_seconds()) < 5


def test_short_term_retention_can_be_changed_within_azures_range(fresh, sql_client):
    tenant = fresh.tenants[0]
    client = sql_client(tenant["subscription_id"])
    policy = client.backup_short_term_retention_policies.get(
        *_where(tenant), tenant["database_name"], "default"
    )
    assert (policy.retention_days, policy.diff_backup_interval_in_hours) == (7, 12)

    client.backup_short_term_retention_policies.begin_create_or_update(
        *_where(tenant),
        tenant["database_name"],
        "default",
        BackupShortTermRetentionPolicy(retention_days=14),
    ).result()
    assert (
        client.backup_short_term_retention_policies.get(
            *_where(tenant), tenant["database_name"], "default"
        ).retention_days
        == 14
    )

    with pytest.raises(HttpResponseError) as caught:
        client.backup_short_term_retention_policies.begin_create_or_update(
            *_where(tenant),
            tenant["database_name"],
            "default",
            BackupShortTermRetentionPolicy(retention_days=40),
        )
    assert caught.value.error.code == "InvalidBackupRetentionPeriod"


def test_ltr_backups_are_weekly_for_a_year(fresh, sql_client):
    tenant = fresh.tenants[0]
    client = sql_client(tenant["subscription_id"])
    policy = client.long_term_retention_policies.get(
        *_where(tenant), tenant["database_name"], "default"
    )
    assert policy.weekly_retention == "P52W"
    backups = list(
        client.long_term_retention_backups.list_by_database(
            "australiaeast", tenant["sql_server_name"], tenant["database_name"]
        )
    )
    times = [b.backup_time for b in backups]
    assert backups and len(backups) <= 53
    assert all(
        later - earlier == timedelta(days=7)
        for earlier, later in zip(times, times[1:], strict=False)
    )
    assert times[0] > datetime.now(UTC) - timedelta(days=366)
    assert times[-1] > datetime.now(UTC) - timedelta(days=7)
    one = client.long_term_retention_backups.get(
        "australiaeast", tenant["sql_server_name"], tenant["database_name"], backups[-1].name
    )
    assert one.backup_time == backups[-1].backup_time
    latest = list(
        client.long_term_retention_backups.list_by_server(
            "australiaeast", tenant["sql_server_name"], only_latest_per_database=True
        )
    )
    assert {b.database_name for b in latest} >= {tenant["database_name"]}


def test_geo_backups_lag_about_an_hour_and_skip_locally_redundant_databases(fresh, sql_client):
    tenant = fresh.tenants[0]
    client = sql_client(tenant["subscription_id"])
    recoverable = list(client.recoverable_databases.list_by_server(*_where(tenant)))
    now = datetime.now(UTC)
    assert recoverable
    for item in recoverable:
        assert (
            now - timedelta(hours=1, minutes=11)
            <= item.last_available_backup_date
            <= now - timedelta(hours=1)
        )
    local = {
        t["database_name"]
        for t in fresh.tenants
        if "backup_local" in t["seeded_issues"] and t["sql_server_id"] == tenant["sql_server_id"]
    }
    assert not local & {r.name for r in recoverable}


def test_server_posture_fields_are_readable(fresh, sql_client):
    tenant = fresh.tenants[0]
    client = sql_client(tenant["subscription_id"])
    server = client.servers.get(*_where(tenant))
    assert server.minimal_tls_version in ("1.0", "1.2")
    auditing = client.server_blob_auditing_policies.get(*_where(tenant))
    assert auditing.state == "Enabled"
    db_auditing = client.database_blob_auditing_policies.get(
        *_where(tenant), tenant["database_name"]
    )
    assert db_auditing.state == (
        "Disabled" if "auditing_off" in tenant["seeded_issues"] else "Enabled"
    )
    servers = {s.name for s in client.servers.list()}
    assert tenant["sql_server_name"] in servers and tenant["geo_server_name"] in servers


def test_the_seed_has_every_kind_of_posture_violation(fresh):
    issues = {i for t in fresh.tenants for i in t["seeded_issues"]}
    assert {"backup_local", "auditing_off", "service_managed_tde"} <= issues


def _key_client(emulator):
    return KeyClient(
        emulator.keyvault_url,
        emulator.credential(),
        verify_challenge_resource=False,
        connection_verify=emulator.ca_bundle,
    )


def test_rotating_a_key_and_switching_the_encryption_protector(fresh, sql_client):
    tenant = fresh.tenants[0]
    client = sql_client(tenant["subscription_id"])
    assert (
        client.encryption_protectors.get(*_where(tenant), "current").server_key_type
        == "ServiceManaged"
    )
    rotated = _key_client(fresh).rotate_key(tenant["key_name"])
    version = rotated.id.rstrip("/").rsplit("/", 1)[-1]
    key_name = f"127_{tenant['key_name']}_{version}"

    added = client.server_keys.begin_create_or_update(
        *_where(tenant), key_name, ServerKey(server_key_type="AzureKeyVault", uri=rotated.id)
    ).result()
    assert added.uri == rotated.id
    protector = client.encryption_protectors.begin_create_or_update(
        *_where(tenant),
        "current",
        EncryptionProtector(server_key_type="AzureKeyVault", server_key_name=key_name),
    ).result()

    assert protector.server_key_name == key_name
    current = client.encryption_protectors.get(*_where(tenant), "current")
    assert (current.server_key_type, current.uri) == ("AzureKeyVault", rotated.id)
    assert key_name in {k.name for k in client.server_keys.list_by_server(*_where(tenant))}


def test_the_protector_must_name_an_existing_server_key(fresh, sql_client):
    tenant = fresh.tenants[0]
    client = sql_client(tenant["subscription_id"])
    with pytest.raises(ResourceExistsError) as caught:
        client.encryption_protectors.begin_create_or_update(
            *_where(tenant),
            "current",
            EncryptionProtector(server_key_type="AzureKeyVault", server_key_name="127_nope_0"),
        )
    assert caught.value.error.code == "ServerKeyDoesNotExists"


def test_a_restore_fails_when_the_server_lost_an_old_key_version(fresh, sql_client):
    tenant = next(t for t in fresh.tenants if "service_managed_tde" not in t["seeded_issues"])
    client = sql_client(tenant["subscription_id"])
    db = client.databases.get(
        *_where(tenant), tenant["database_name"], expand="keys($filter=pointInTime('current'))"
    )
    oldest = next(iter(db.keys_property))
    key_name = f"127_{tenant['key_name']}_{oldest.rsplit('/', 1)[-1]}"
    client.server_keys.begin_delete(*_where(tenant), key_name).result()

    poller = client.databases.begin_create_or_update(
        *_where(tenant),
        "db-needs-old-key",
        Database(
            location=db.location,
            create_mode="PointInTimeRestore",
            source_database_id=db.id,
            restore_point_in_time=datetime.now(UTC) - timedelta(hours=1),
        ),
    )
    with pytest.raises(HttpResponseError) as caught:
        poller.result()
    assert "KeyMaterialNotFoundOnRemoteServer" in str(caught.value)
    assert "does not have access to all AKV URIs" in str(caught.value)
    assert "db-needs-old-key" not in {
        d.name for d in client.databases.list_by_server(*_where(tenant))
    }
