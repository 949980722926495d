"""ARM throttling and the control API's fault injection, seen through azure-mgmt-sql."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.sql.models import Database


def _where(tenant):
    return tenant["sql_resource_group"], tenant["sql_server_name"]


def test_every_arm_answer_carries_the_remaining_reads(fresh, sql_client):
    tenant = fresh.tenants[0]
    seen = []
    sql_client(tenant["subscription_id"]).servers.get(
        *_where(tenant), raw_response_hook=lambda r: seen.append(r.http_response.headers)
    )
    assert int(seen[0]["x-ms-ratelimit-remaining-subscription-reads"]) == 249


def test_an_empty_read_bucket_answers_429_with_retry_after(fresh, sql_client):
    tenant = fresh.tenants[0]
    fresh.control("POST", "throttle", {"reads": {"size": 2, "refill_per_second": 1}})
    impatient = sql_client(tenant["subscription_id"], retry_total=0)
    impatient.servers.get(*_where(tenant))
    impatient.servers.get(*_where(tenant))
    with pytest.raises(HttpResponseError) as caught:
        impatient.servers.get(*_where(tenant))
    assert caught.value.status_code == 429
    assert caught.value.error.code == "SubscriptionRequestsThrottled"
    assert caught.value.response.headers["Retry-After"] == "1"
    # The SDK's own retry policy honours Retry-After and gets through.
    assert (
        sql_client(tenant["subscription_id"]).servers.get(*_where(tenant)).name
        == tenant["sql_server_name"]
    )


def test_list_calls_get_through_20_percent_injected_errors_and_throttling(fresh, sql_client):
    tenant = fresh.tenants[0]
    fresh.control(
        "POST",
        "faults/error-rate",
        {"operation": "*", "rate": 0.2, "status": 503, "code": "ServiceUnavailable"},
    )
    fresh.control("POST", "throttle", {"reads": {"size": 15, "refill_per_second": 20}})
    client = sql_client(tenant["subscription_id"], retry_backoff_factor=0.05)
    for _ in range(15):
        assert len(list(client.databases.list_by_server(*_where(tenant)))) > 1
    statuses = [
        r["status"]
        for r in fresh.control("GET", "requests")["requests"]
        if r["operation"] == "databases.list_by_server"
    ]
    assert 503 in statuses
    assert statuses.count(200) == 15


def test_fail_next_fails_exactly_that_many_calls(fresh, sql_client):
    tenant = fresh.tenants[0]
    fresh.control(
        "POST",
        "faults/fail-next",
        {
            "operation": "servers.get",
            "count": 2,
            "status": 409,
            "code": "ServerDisabled",
            "message": "Server is disabled.",
        },
    )
    client = sql_client(tenant["subscription_id"])
    for _ in range(2):
        with pytest.raises(HttpResponseError) as caught:
            client.servers.get(*_where(tenant))
        assert caught.value.error.code == "ServerDisabled"
    assert client.servers.get(*_where(tenant)).name == tenant["sql_server_name"]


def test_an_lro_told_to_fail_fails_midway_and_leaves_no_database(fresh, sql_client):
    tenant = fresh.tenants[0]
    fresh.control(
        "POST",
        "faults/fail-lro",
        {
            "operation": "databases.create_or_update",
            "code": "OperationTimedOut",
            "message": "The operation timed out and automatically rolled back.",
        },
    )
    client = sql_client(tenant["subscription_id"])
    source = client.databases.get(*_where(tenant), tenant["database_name"])
    poller = client.databases.begin_create_or_update(
        *_where(tenant),
        "db-doomed",
        Database(
            location=source.location,
            create_mode="PointInTimeRestore",
            source_database_id=source.id,
            restore_point_in_time=datetime.now(UTC) - timedelta(hours=1),
        ),
    )
    with pytest.raises(HttpResponseError) as caught:
        poller.result()
    assert "OperationTimedOut" in str(caught.value)
    assert "db-doomed" not in {d.name for d in client.databases.list_by_server(*_where(tenant))}
    (operation,) = [
        o
        for o in fresh.control("GET", "operations")["operations"]
        if o["resource_id"].endswith("/db-doomed")
    ]
    assert operation["status"] == "Failed"


def test_a_regional_outage_makes_australia_east_unavailable_but_not_its_geo_backups(
    fresh, sql_client
):
    tenant = fresh.tenants[0]
    fresh.control("POST", "faults/outage", {"region": "australiaeast"})
    client = sql_client(tenant["subscription_id"], retry_total=0)
    with pytest.raises(HttpResponseError) as caught:
        client.databases.get(*_where(tenant), tenant["database_name"])
    assert caught.value.status_code == 503
    assert caught.value.error.code == "ServiceUnavailable"
    assert list(client.recoverable_databases.list_by_server(*_where(tenant)))
    geo_group = tenant["geo_server_id"].split("/")[4]
    assert client.servers.get(geo_group, tenant["geo_server_name"]).location == "australiasoutheast"
    fresh.control("POST", "faults/outage", {"region": "australiaeast", "active": False})
    assert client.databases.get(*_where(tenant), tenant["database_name"]).status == "Online"


def test_latency_can_be_added_to_one_operation(fresh, sql_client):
    tenant = fresh.tenants[0]
    fresh.control("POST", "faults/latency", {"operation": "servers.get", "ms": 400})
    client = sql_client(tenant["subscription_id"])
    started = time.monotonic()
    client.servers.get(*_where(tenant))
    assert time.monotonic() - started >= 0.4


def test_the_snapshot_shows_state_and_the_request_log(fresh, sql_client):
    tenant = fresh.tenants[0]
    sql_client(tenant["subscription_id"]).servers.get(*_where(tenant))
    snapshot = fresh.control("GET", "state")
    assert tenant["database_id"].lower() in snapshot["resources"]
    assert snapshot["tables"]["keyvault_keys"][tenant["key_name"]]["versions"]
    assert any(
        r["operation"] == "servers.get" for r in fresh.control("GET", "requests")["requests"]
    )
