"""Azure's restore contracts through azure-mgmt-sql: database-level keys on restore, keys at a
point in time, restore lag, tags, queueing, the delay before a deleted database is restorable,
and rename error codes (docs/azure-behaviours.md, "Restores and keys")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.sql.models import Database, DatabaseIdentity, DatabaseKey


def _where(tenant):
    return tenant["sql_resource_group"], tenant["sql_server_name"]


def _cmk_tenant(fresh, *, versions=1):
    """A seeded tenant whose database uses a database-level key with at least `versions` versions."""
    for tenant in fresh.tenants:
        body = fresh.control("GET", f"resource?id={tenant['database_id']}")
        history = body["_meta"]["key_history"]
        if (
            body["properties"].get("encryptionProtector")
            and len(history) >= versions
            and not tenant["geo_secondary_database_id"]
        ):
            return tenant, body
    pytest.skip(f"no seeded tenant with {versions} key versions")


def _restore(client, tenant, name, source, moment, **extra):
    return client.databases.begin_create_or_update(
        *_where(tenant),
        name,
        Database(
            location=source.location,
            create_mode="PointInTimeRestore",
            source_database_id=source.id,
            restore_point_in_time=moment,
            **extra,
        ),
    )


def test_a_restore_without_identity_keys_and_protector_loses_the_database_level_key(
    fresh, sql_client
):
    tenant, _ = _cmk_tenant(fresh)
    client = sql_client(tenant["subscription_id"])
    source = client.databases.get(*_where(tenant), tenant["database_name"])
    assert source.encryption_protector

    copy = _restore(
        client, tenant, "db-bare-copy", source, datetime.now(UTC) - timedelta(hours=1)
    ).result()

    stored = client.databases.get(*_where(tenant), copy.name)
    assert stored.encryption_protector is None
    assert stored.identity is None


def test_a_restore_with_identity_keys_and_protector_keeps_the_database_level_key(fresh, sql_client):
    tenant, body = _cmk_tenant(fresh)
    client = sql_client(tenant["subscription_id"])
    moment = datetime.now(UTC) - timedelta(hours=1)
    source = client.databases.get(
        *_where(tenant),
        tenant["database_name"],
        expand=f"keys($filter=pointInTime('{moment:%Y-%m-%dT%H:%M:%SZ}'))",
    )
    identity_id = next(iter(body["identity"]["userAssignedIdentities"]))

    _restore(
        client,
        tenant,
        "db-keyed-copy",
        source,
        moment,
        identity=DatabaseIdentity(type="UserAssigned", user_assigned_identities={identity_id: {}}),
        keys_property={uri: DatabaseKey() for uri in source.keys_property},
        encryption_protector=source.encryption_protector,
    ).result()

    stored = client.databases.get(*_where(tenant), "db-keyed-copy")
    assert stored.encryption_protector == source.encryption_protector
    assert set(stored.identity.user_assigned_identities) == {identity_id}


def test_keys_at_a_point_in_time_leave_out_versions_added_later(fresh, sql_client):
    tenant, body = _cmk_tenant(fresh, versions=2)
    history = body["_meta"]["key_history"]
    client = sql_client(tenant["subscription_id"])
    latest_added = datetime.fromisoformat(history[-1]["from"].replace("Z", "+00:00"))
    before = latest_added - timedelta(seconds=1)

    then = client.databases.get(
        *_where(tenant),
        tenant["database_name"],
        expand=f"keys($filter=pointInTime('{before:%Y-%m-%dT%H:%M:%SZ}'))",
    )
    now = client.databases.get(
        *_where(tenant), tenant["database_name"], expand="keys($filter=pointInTime('current'))"
    )

    assert history[-1]["kid"] not in then.keys_property
    assert set(then.keys_property) == {e["kid"] for e in history[:-1]}
    assert set(now.keys_property) == {e["kid"] for e in history}


def test_geo_and_dropped_databases_report_their_keys_only_when_expanded(fresh, sql_client):
    tenant, body = _cmk_tenant(fresh)
    client = sql_client(tenant["subscription_id"])
    kids = {e["kid"] for e in body["_meta"]["key_history"]}
    plain = client.recoverable_databases.get(*_where(tenant), tenant["database_name"])
    expanded = client.recoverable_databases.get(
        *_where(tenant), tenant["database_name"], expand="keys"
    )
    assert not plain.keys_property
    assert set(expanded.keys_property) <= kids and expanded.keys_property

    dropped = next(
        d
        for t in fresh.tenants
        for d in sql_client(t["subscription_id"]).restorable_dropped_databases.list_by_server(
            *_where(t)
        )
    )
    server_group, server_name = dropped.id.split("/")[4], dropped.id.split("/")[8]
    dropped_client = sql_client(dropped.id.split("/")[2])
    with_keys = dropped_client.restorable_dropped_databases.get(
        server_group, server_name, dropped.name, expand="keys"
    )
    assert not dropped.keys_property
    assert with_keys.keys_property


def _mid_log_backup_interval(fresh) -> datetime:
    """Move the emulator's clock to the middle of a five-minute log-backup interval and return
    its time: at a wall-clock boundary "a second ago" is before the last log backup, not after."""
    now = datetime.fromisoformat(fresh.control("POST", "clock", {"advance_seconds": 0})["now"])
    shift = (150 - ((now.minute % 5) * 60 + now.second)) % 300
    fresh.control("POST", "clock", {"advance_seconds": shift})
    return now + timedelta(seconds=shift)


def test_a_restore_after_the_last_log_backup_is_refused_and_creates_nothing(fresh, sql_client):
    tenant = fresh.tenants[0]
    client = sql_client(tenant["subscription_id"], retry_total=0)
    source = client.databases.get(*_where(tenant), tenant["database_name"])
    now = _mid_log_backup_interval(fresh)

    with pytest.raises(HttpResponseError) as caught:
        _restore(client, tenant, "db-too-recent", source, now - timedelta(seconds=1))

    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidLiveDatabase"  # not Managed Instance's code
    assert "last log backup" in caught.value.error.message
    with pytest.raises(ResourceNotFoundError):
        client.databases.get(*_where(tenant), "db-too-recent")


def test_a_restored_database_has_the_tags_of_the_request_not_the_sources(fresh, sql_client):
    tenant = fresh.tenants[0]
    client = sql_client(tenant["subscription_id"])
    source = client.databases.get(*_where(tenant), tenant["database_name"])
    assert source.tags

    bare = _restore(client, tenant, "db-untagged", source, datetime.now(UTC) - timedelta(hours=1))
    tagged = _restore(
        client,
        tenant,
        "db-tagged",
        source,
        datetime.now(UTC) - timedelta(hours=1),
        tags={"role": "copy"},
    )
    bare.result()
    tagged.result()

    assert not client.databases.get(*_where(tenant), "db-untagged").tags
    assert client.databases.get(*_where(tenant), "db-tagged").tags == {"role": "copy"}


def test_restores_past_the_pool_processing_limit_are_queued_not_refused(fresh, sql_client):
    tenant = fresh.tenants[0]
    fresh.control("POST", "limits", {"restores_per_pool": 1})
    client = sql_client(tenant["subscription_id"], retry_total=0)
    source = client.databases.get(*_where(tenant), tenant["database_name"])
    moment = datetime.now(UTC) - timedelta(hours=1)
    pool = {"elastic_pool_id": tenant["elastic_pool_id"]}

    first = _restore(client, tenant, "db-first-copy", source, moment, **pool)
    second = _restore(client, tenant, "db-queued-copy", source, moment, **pool)

    operations = {
        op["resource_id"].rsplit("/", 1)[-1]: op
        for op in fresh.control("GET", "operations")["operations"]
    }
    assert operations["db-queued-copy"]["due"] > operations["db-first-copy"]["due"]
    assert first.result().status == "Online"
    assert second.result().status == "Online"


def test_restores_past_the_pool_submission_limit_are_refused_with_retry_after(fresh, sql_client):
    tenant = fresh.tenants[0]
    fresh.control("POST", "limits", {"restores_per_pool": 1, "restore_submissions_per_pool": 1})
    client = sql_client(tenant["subscription_id"], retry_total=0)
    source = client.databases.get(*_where(tenant), tenant["database_name"])
    moment = datetime.now(UTC) - timedelta(hours=1)
    pool = {"elastic_pool_id": tenant["elastic_pool_id"]}

    first = _restore(client, tenant, "db-first-copy", source, moment, **pool)
    with pytest.raises(HttpResponseError) as caught:
        _restore(client, tenant, "db-second-copy", source, moment, **pool)

    assert caught.value.status_code == 429
    assert caught.value.error.code == "SubscriptionTooManyCreateUpdateRequests"
    assert int(caught.value.response.headers["Retry-After"]) >= 1
    first.result()


def test_a_deleted_database_becomes_restorable_only_after_a_few_minutes(fresh, sql_client):
    tenant = next(t for t in fresh.tenants if not t["geo_secondary_database_id"])
    client = sql_client(tenant["subscription_id"])
    client.databases.begin_delete(*_where(tenant), tenant["database_name"]).result()

    def listed():
        return [
            d
            for d in client.restorable_dropped_databases.list_by_server(*_where(tenant))
            if d.database_name == tenant["database_name"]
        ]

    assert listed() == []
    fresh.control("POST", "clock", {"advance_seconds": 6 * 60})
    assert len(listed()) == 1


def test_rename_onto_an_existing_name_answers_database_name_in_use(fresh, sql_client):
    tenant, neighbour = fresh.tenants[0], fresh.tenants[1]
    client = sql_client(tenant["subscription_id"])
    with pytest.raises(HttpResponseError) as caught:
        client.databases.rename(
            *_where(tenant), tenant["database_name"], {"id": neighbour["database_id"]}
        )
    assert caught.value.status_code == 400
    assert caught.value.error.code == "DatabaseNameInUse"


def test_rename_of_a_geo_replicated_database_answers_409(fresh, sql_client):
    tenant = next(t for t in fresh.tenants if t["geo_secondary_database_id"])
    client = sql_client(tenant["subscription_id"])
    with pytest.raises(HttpResponseError) as caught:
        client.databases.rename(
            *_where(tenant), tenant["database_name"], {"id": tenant["database_id"] + "-renamed"}
        )
    assert caught.value.status_code == 409
    assert caught.value.error.code == "InvalidOperationForDatabaseInReplicationRelationship"
