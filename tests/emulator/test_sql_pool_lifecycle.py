"""Elastic pools are created and deleted through azure-mgmt-sql, also on the paired-region
servers; both are long-running operations whose first answer is not the pool."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.sql.models import ElasticPool, Sku


def _geo_server(tenant):
    return tenant["geo_server_id"].split("/")[4], tenant["geo_server_name"]


def test_a_pool_created_on_the_paired_region_server_is_ready_with_its_capacity_filled_in(
    fresh, sql_client
):
    tenant = fresh.tenants[0]
    client = sql_client(tenant["subscription_id"])
    group, server = _geo_server(tenant)

    poller = client.elastic_pools.begin_create_or_update(
        group,
        server,
        "pool-dr-01",
        ElasticPool(location="australiasoutheast", sku=Sku(name="StandardPool")),
    )
    first = poller._polling_method._initial_response.http_response  # the 202, before polling
    created = poller.result()

    assert first.status_code == 202
    assert set(first.json()) == {"operation", "startTime"}
    assert "Azure-AsyncOperation" in first.headers
    assert created.state == "Ready"
    assert (created.sku.name, created.sku.tier, created.sku.capacity) == (
        "StandardPool",
        "Standard",
        50,
    )
    assert client.elastic_pools.get(group, server, "pool-dr-01").state == "Ready"


def test_a_pool_in_another_region_than_its_server_is_refused(fresh, sql_client):
    tenant = fresh.tenants[0]
    client = sql_client(tenant["subscription_id"], retry_total=0)
    group, server = _geo_server(tenant)
    with pytest.raises(HttpResponseError) as caught:
        client.elastic_pools.begin_create_or_update(
            group,
            server,
            "pool-wrong",
            ElasticPool(location="australiaeast", sku=Sku(name="GP_Gen5")),
        )
    assert caught.value.error.code == "LocationNotAvailableForResourceType"
    with pytest.raises(ResourceNotFoundError):
        client.elastic_pools.get(group, server, "pool-wrong")


def test_an_empty_pool_is_deleted_and_a_pool_with_databases_is_not(fresh, sql_client):
    tenant = fresh.tenants[0]
    client = sql_client(tenant["subscription_id"], retry_total=0)
    group, server = _geo_server(tenant)
    client.elastic_pools.begin_create_or_update(
        group,
        server,
        "pool-dr-02",
        ElasticPool(location="australiasoutheast", sku=Sku(name="GP_Gen5")),
    ).result()

    client.elastic_pools.begin_delete(group, server, "pool-dr-02").result()

    with pytest.raises(ResourceNotFoundError):
        client.elastic_pools.get(group, server, "pool-dr-02")
    with pytest.raises(HttpResponseError) as caught:
        client.elastic_pools.begin_delete(
            tenant["sql_resource_group"], tenant["sql_server_name"], tenant["elastic_pool_name"]
        )
    assert caught.value.status_code == 409
    assert client.elastic_pools.get(
        tenant["sql_resource_group"], tenant["sql_server_name"], tenant["elastic_pool_name"]
    )
