"""SQL long-running writes answer as Azure records them: 202, Azure-AsyncOperation and Location,
and a small {"operation", "startTime"} body instead of the resource; the resource is read once
the operation completes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from azure.mgmt.sql.models import Database, ServerKey, Sku


def _where(tenant):
    return tenant["sql_resource_group"], tenant["sql_server_name"]


def _first_answer(poller):
    return poller._polling_method._initial_response.http_response


def _assert_accepted(response, operation):
    assert response.status_code == 202
    assert "Azure-AsyncOperation" in response.headers
    assert "Location" in response.headers
    body = response.json()
    assert set(body) == {"operation", "startTime"}
    assert body["operation"] == operation


def test_a_restore_answers_202_with_the_operation_and_the_result_is_the_database(fresh, sql_client):
    tenant = fresh.tenants[0]
    client = sql_client(tenant["subscription_id"])
    source = client.databases.get(*_where(tenant), tenant["database_name"])
    poller = client.databases.begin_create_or_update(
        *_where(tenant),
        "db-shape-copy",
        Database(
            location=source.location,
            create_mode="PointInTimeRestore",
            source_database_id=source.id,
            restore_point_in_time=datetime.now(UTC) - timedelta(hours=1),
        ),
    )

    _assert_accepted(_first_answer(poller), "CreateLogicalDatabase")
    assert poller.result().status == "Online"


def test_a_database_created_with_only_a_sku_name_reports_its_capacity(fresh, sql_client):
    tenant = fresh.tenants[0]
    client = sql_client(tenant["subscription_id"])

    created = client.databases.begin_create_or_update(
        *_where(tenant), "db-shape-s2", Database(location="australiaeast", sku=Sku(name="S2"))
    ).result()

    assert (created.sku.tier, created.sku.capacity) == ("Standard", 50)
    assert created.current_sku.capacity == 50


def test_a_server_key_is_added_and_removed_by_long_running_operations(fresh, sql_client):
    tenant = fresh.tenants[0]
    client = sql_client(tenant["subscription_id"])
    existing = next(iter(client.server_keys.list_by_server(*_where(tenant))))
    key = client.server_keys.get(*_where(tenant), existing.name)

    removed = client.server_keys.begin_delete(*_where(tenant), existing.name)
    _assert_accepted(_first_answer(removed), "DropServerKey")
    removed.result()
    assert existing.name not in {k.name for k in client.server_keys.list_by_server(*_where(tenant))}

    added = client.server_keys.begin_create_or_update(
        *_where(tenant), existing.name, ServerKey(server_key_type="AzureKeyVault", uri=key.uri)
    )
    _assert_accepted(_first_answer(added), "UpsertServerKey")
    assert added.result().uri == key.uri
