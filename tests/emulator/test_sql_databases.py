"""Microsoft.Sql databases through azure-mgmt-sql: reads, restores (LROs), rename, delete, scale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.core.serialization import NULL
from azure.mgmt.sql.models import Database, DatabaseUpdate, Sku


def _client(sql_client, tenant, **kwargs):
    return sql_client(tenant["subscription_id"], **kwargs)


def _where(tenant):
    return tenant["sql_resource_group"], tenant["sql_server_name"]


def _lineage(fresh, resource_id):
    return fresh.control("GET", f"resource?id={resource_id}")["_meta"]["lineage"]


def test_list_by_server_shows_master_and_the_tenant_databases(fresh, sql_client):
    tenant = fresh.tenants[0]
    names = {d.name for d in _client(sql_client, tenant).databases.list_by_server(*_where(tenant))}
    assert "master" in names
    expected = {
        t["database_name"] for t in fresh.tenants if t["sql_server_id"] == tenant["sql_server_id"]
    }
    assert expected <= names


def test_list_by_elastic_pool_shows_only_that_pools_databases(fresh, sql_client):
    tenant = fresh.tenants[0]
    databases = list(
        _client(sql_client, tenant).databases.list_by_elastic_pool(
            *_where(tenant), tenant["elastic_pool_name"]
        )
    )
    expected = {
        t["database_name"]
        for t in fresh.tenants
        if t["elastic_pool_id"] == tenant["elastic_pool_id"]
    }
    assert {d.name for d in databases} == expected
    assert all(d.elastic_pool_id.lower() == tenant["elastic_pool_id"].lower() for d in databases)
    assert all(
        d.sku.name == "ElasticPool" and d.current_service_objective_name == "ElasticPool"
        for d in databases
    )


def test_a_database_reports_its_restore_window_and_keys(fresh, sql_client):
    tenant = fresh.tenants[0]
    db = _client(sql_client, tenant).databases.get(
        *_where(tenant), tenant["database_name"], expand="keys($filter=pointInTime('current'))"
    )
    assert db.status == "Online"
    assert db.tags["fleetwise-tenant"] == tenant["slug"]
    now = datetime.now(UTC)
    assert now - timedelta(days=7, minutes=1) <= db.earliest_restore_date <= now
    if "service_managed_tde" not in tenant["seeded_issues"]:
        assert db.encryption_protector == tenant["key_id"]
        assert tenant["key_id"] in db.keys_property


def test_a_missing_database_is_a_resource_not_found(fresh, sql_client):
    tenant = fresh.tenants[0]
    with pytest.raises(ResourceNotFoundError) as caught:
        _client(sql_client, tenant).databases.get(*_where(tenant), "db-nobody")
    assert caught.value.error.code == "ResourceNotFound"
    assert "Retry-After" not in caught.value.response.headers


def test_a_database_on_a_missing_server_names_the_parent(fresh, sql_client):
    tenant = fresh.tenants[0]
    with pytest.raises(ResourceNotFoundError) as caught:
        _client(sql_client, tenant).databases.get(tenant["sql_resource_group"], "sql-nowhere", "db")
    assert caught.value.error.code == "ParentResourceNotFound"


def test_point_in_time_restore_into_the_pool_appears_after_the_lro(fresh, sql_client):
    tenant = fresh.tenants[0]
    client = _client(sql_client, tenant)
    source = client.databases.get(*_where(tenant), tenant["database_name"])
    when = datetime.now(UTC) - timedelta(hours=3)
    poller = client.databases.begin_create_or_update(
        *_where(tenant),
        f"{tenant['database_name']}-restored",
        Database(
            location=source.location,
            create_mode="PointInTimeRestore",
            source_database_id=source.id,
            restore_point_in_time=when,
            elastic_pool_id=tenant["elastic_pool_id"],
        ),
    )
    during = client.databases.get(*_where(tenant), f"{tenant['database_name']}-restored")
    assert during.status == "Restoring"

    restored = poller.result()

    assert restored.status == "Online"
    assert restored.elastic_pool_id.lower() == tenant["elastic_pool_id"].lower()
    in_pool = {
        d.name
        for d in client.databases.list_by_elastic_pool(*_where(tenant), tenant["elastic_pool_name"])
    }
    assert restored.name in in_pool
    lineage = _lineage(fresh, restored.id)
    assert lineage["source_database_id"].lower() == source.id.lower()
    assert lineage["create_mode"] == "PointInTimeRestore"
    assert (
        abs((datetime.fromisoformat(lineage["restore_point_in_time"]) - when).total_seconds()) < 1
    )
    assert lineage["operation_id"]


@pytest.mark.parametrize(
    "offset", [timedelta(days=8), timedelta(hours=-1)], ids=["before-window", "future"]
)
def test_it_refuses_a_restore_time_outside_the_window(fresh, sql_client, offset):
    tenant = fresh.tenants[1]
    client = _client(sql_client, tenant)
    source = client.databases.get(*_where(tenant), tenant["database_name"])
    with pytest.raises(HttpResponseError) as caught:
        client.databases.begin_create_or_update(
            *_where(tenant),
            "db-should-not-exist",
            Database(
                location=source.location,
                create_mode="PointInTimeRestore",
                source_database_id=source.id,
                restore_point_in_time=datetime.now(UTC) - offset,
            ),
        )
    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidLiveDatabase"  # not Managed Instance's code
    assert "Retry-After" not in caught.value.response.headers
    with pytest.raises(ResourceNotFoundError):
        client.databases.get(*_where(tenant), "db-should-not-exist")


def test_it_refuses_a_restore_onto_an_existing_name(fresh, sql_client):
    tenant, neighbour = fresh.tenants[0], fresh.tenants[1]
    assert neighbour["sql_server_id"] == tenant["sql_server_id"]
    client = _client(sql_client, tenant)
    source = client.databases.get(*_where(tenant), tenant["database_name"])
    with pytest.raises(ResourceExistsError) as caught:
        client.databases.begin_create_or_update(
            *_where(tenant),
            neighbour["database_name"],
            Database(
                location=source.location,
                create_mode="PointInTimeRestore",
                source_database_id=source.id,
                restore_point_in_time=datetime.now(UTC) - timedelta(hours=1),
            ),
        )
    assert caught.value.error.code == "RemoteDatabaseExists"


def test_rename_moves_the_database(fresh, sql_client):
    tenant = next(t for t in fresh.tenants if not t["geo_secondary_database_id"])
    client = _client(sql_client, tenant)
    db = client.databases.get(*_where(tenant), tenant["database_name"])
    new_name = f"{tenant['database_name']}-pre-restore-20261129T0000Z"

    client.databases.rename(
        *_where(tenant), tenant["database_name"], {"id": db.id.rsplit("/", 1)[0] + "/" + new_name}
    )

    moved = client.databases.get(*_where(tenant), new_name)
    assert moved.name == new_name
    assert moved.properties.database_id == db.properties.database_id
    with pytest.raises(ResourceNotFoundError):
        client.databases.get(*_where(tenant), tenant["database_name"])
    # Its retention policy moved with it.
    assert (
        client.backup_short_term_retention_policies.get(
            *_where(tenant), new_name, "default"
        ).retention_days
        == 7
    )


def test_a_deleted_database_can_be_restored_from_restorable_dropped(fresh, sql_client):
    tenant = next(t for t in fresh.tenants if not t["geo_secondary_database_id"])
    client = _client(sql_client, tenant)
    client.databases.begin_delete(*_where(tenant), tenant["database_name"]).result()
    with pytest.raises(ResourceNotFoundError):
        client.databases.get(*_where(tenant), tenant["database_name"])
    # Azure lists a deleted database as restorable a few minutes after the delete.
    fresh.control("POST", "clock", {"advance_seconds": 6 * 60})
    dropped = [
        d
        for d in client.restorable_dropped_databases.list_by_server(*_where(tenant))
        if d.database_name == tenant["database_name"]
    ]
    assert len(dropped) == 1
    assert dropped[0].name.startswith(f"{tenant['database_name']},")

    restored = client.databases.begin_create_or_update(
        *_where(tenant),
        tenant["database_name"],
        Database(
            location=dropped[0].location,
            create_mode="Restore",
            restorable_dropped_database_id=dropped[0].id,
            elastic_pool_id=tenant["elastic_pool_id"],
        ),
    ).result()

    assert restored.status == "Online"
    lineage = _lineage(fresh, restored.id)
    assert lineage["source_kind"] == "dropped"
    assert lineage["restore_point_in_time"] == dropped[0].deletion_date.isoformat().replace(
        "+00:00", "Z"
    )


def test_geo_restore_to_the_paired_region_uses_the_lagging_geo_backup(fresh, sql_client):
    tenant = next(t for t in fresh.tenants if "backup_local" not in t["seeded_issues"])
    client = _client(sql_client, tenant)
    recoverable = client.recoverable_databases.get(*_where(tenant), tenant["database_name"])
    geo_group = tenant["geo_server_id"].split("/")[4]
    target = client.servers.get(geo_group, tenant["geo_server_name"])

    restored = client.databases.begin_create_or_update(
        geo_group,
        tenant["geo_server_name"],
        tenant["database_name"] + "-dr",
        Database(
            location=target.location, create_mode="Recovery", recoverable_database_id=recoverable.id
        ),
    ).result()

    assert restored.location == "australiasoutheast"
    lineage = _lineage(fresh, restored.id)
    assert lineage["source_kind"] == "geo_backup"
    assert lineage[
        "restore_point_in_time"
    ] == recoverable.last_available_backup_date.isoformat().replace("+00:00", "Z")


def test_a_long_term_retention_backup_can_be_restored(fresh, sql_client):
    tenant = fresh.tenants[2]
    client = _client(sql_client, tenant)
    backups = list(
        client.long_term_retention_backups.list_by_database(
            "australiaeast", tenant["sql_server_name"], tenant["database_name"]
        )
    )
    oldest = backups[0]

    restored = client.databases.begin_create_or_update(
        *_where(tenant),
        tenant["database_name"] + "-ltr",
        Database(
            location="australiaeast",
            create_mode="RestoreLongTermRetentionBackup",
            long_term_retention_backup_resource_id=oldest.id,
            elastic_pool_id=tenant["elastic_pool_id"],
        ),
    ).result()

    lineage = _lineage(fresh, restored.id)
    assert lineage["source_kind"] == "ltr_backup"
    assert lineage["ltr_backup_id"] == oldest.id


def test_moving_a_database_between_pools_and_out_of_a_pool(fresh, sql_client):
    tenant = fresh.tenants[0]
    client = _client(sql_client, tenant)
    other = next(
        p
        for p in fresh.demo["fleet"]["pools"]
        if p["server_id"] == tenant["sql_server_id"] and p["id"] != tenant["elastic_pool_id"]
    )

    moved = client.databases.begin_update(
        *_where(tenant), tenant["database_name"], DatabaseUpdate(elastic_pool_id=other["id"])
    ).result()
    assert moved.elastic_pool_id.lower() == other["id"].lower()

    single = client.databases.begin_update(
        *_where(tenant),
        tenant["database_name"],
        DatabaseUpdate(
            sku=Sku(name="GP_Gen5", tier="GeneralPurpose", family="Gen5", capacity=2),
            elastic_pool_id=NULL,
        ),
    ).result()
    assert single.elastic_pool_id is None
    assert single.current_service_objective_name == "GP_Gen5_2"


def test_a_refused_update_leaves_the_database_as_it_was(fresh, sql_client):
    tenant = fresh.tenants[0]
    client = _client(sql_client, tenant)
    before = client.databases.get(*_where(tenant), tenant["database_name"])
    assert before.elastic_pool_id

    with pytest.raises(HttpResponseError) as caught:
        client.databases.begin_update(
            *_where(tenant),
            tenant["database_name"],
            DatabaseUpdate(tags={"role": "changed"}, sku=Sku(name="S2")),
        )

    assert caught.value.error.code == "ElasticPoolSkuCombinationInvalid"
    after = client.databases.get(*_where(tenant), tenant["database_name"])
    assert after.tags == before.tags
    assert after.sku.name == "ElasticPool"


def test_moving_into_a_pool_of_another_server_is_refused(fresh, sql_client):
    tenant = fresh.tenants[0]
    foreign = next(
        p for p in fresh.demo["fleet"]["pools"] if p["server_id"] != tenant["sql_server_id"]
    )
    with pytest.raises(HttpResponseError) as caught:
        _client(sql_client, tenant).databases.begin_update(
            *_where(tenant), tenant["database_name"], DatabaseUpdate(elastic_pool_id=foreign["id"])
        )
    assert caught.value.error.code == "TargetElasticPoolDoesNotExist"


def test_pool_scaling_is_a_long_running_update(fresh, sql_client):
    from azure.mgmt.sql.models import ElasticPoolUpdate

    tenant = fresh.tenants[0]
    client = _client(sql_client, tenant)
    pool = client.elastic_pools.get(*_where(tenant), tenant["elastic_pool_name"])
    if pool.sku.name == "StandardPool":
        wanted = Sku(name="StandardPool", tier="Standard", capacity=800)
    else:
        wanted = Sku(name="GP_Gen5", tier="GeneralPurpose", family="Gen5", capacity=8)

    scaled = client.elastic_pools.begin_update(
        *_where(tenant), pool.name, ElasticPoolUpdate(sku=wanted)
    ).result()

    assert scaled.sku.capacity == wanted.capacity
    assert client.elastic_pools.get(*_where(tenant), pool.name).sku.capacity == wanted.capacity


def test_an_invalid_pool_size_is_refused(fresh, sql_client):
    from azure.mgmt.sql.models import ElasticPoolUpdate

    tenant = fresh.tenants[0]
    with pytest.raises(HttpResponseError) as caught:
        _client(sql_client, tenant).elastic_pools.begin_update(
            *_where(tenant),
            tenant["elastic_pool_name"],
            ElasticPoolUpdate(sku=Sku(name="StandardPool", capacity=123)),
        )
    assert caught.value.error.code == "MismatchedSkuNameAndCapacity"
