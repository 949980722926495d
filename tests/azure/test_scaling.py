"""portal.azure.scaling through azure-mgmt-web and azure-mgmt-sql against the emulator: plan
scale up/out, pool capacity and per-database limits, moving a database between pools and out to
a single-database service objective and back, with Azure's refusals."""

from __future__ import annotations

from typing import Any

import pytest

from portal.azure import scaling, sql, tde
from portal.azure.clients import azure_clients
from portal.azure.errors import AzureOperationError
from portal.azure.resource_ids import parse

pytestmark = [pytest.mark.integration]


def _pool_neighbours(emulator: Any) -> tuple[dict[str, Any], str]:
    """A tenant and another pool on its server."""
    for tenant in emulator.tenants:
        others = [
            p["id"]
            for p in emulator.demo["fleet"]["pools"]
            if p["server_id"] == tenant["sql_server_id"] and p["id"] != tenant["elastic_pool_id"]
        ]
        if others:
            return tenant, others[0]
    raise AssertionError("no server with two pools")


def test_a_plan_scales_up_and_out(large_emulator):
    tenant = large_emulator.tenants[0]
    before = scaling.plan_get(tenant["plan_id"])

    token = scaling.plan_scale_begin(tenant["plan_id"], sku_name="P2v3", capacity=3)
    outcome = scaling.plan_scale_wait(tenant["plan_id"], token, timeout_seconds=30)

    assert outcome.succeeded
    after = scaling.plan_get(tenant["plan_id"])
    assert (after.sku_name, after.sku_tier, after.capacity) == ("P2v3", "PremiumV3", 3)
    assert after.site_ids == before.site_ids == (tenant["site_id"],)


def test_a_plan_refuses_more_instances_than_its_tier_allows(large_emulator):
    tenant = large_emulator.tenants[0]

    with pytest.raises(AzureOperationError) as caught:
        scaling.plan_scale_begin(tenant["plan_id"], sku_name="B1", capacity=5)

    assert "1-3" in caught.value.message
    assert scaling.plan_get(tenant["plan_id"]).sku_name != "B1"


def test_a_pool_changes_capacity_and_per_database_limits(large_emulator):
    pool = next(
        p for p in large_emulator.demo["fleet"]["pools"] if p["sku"]["name"] == "StandardPool"
    )
    capacity = 800 if pool["sku"]["capacity"] != 800 else 400

    token = scaling.pool_update_begin(
        pool["id"], capacity=capacity, per_database_min=0, per_database_max=50
    )
    outcome = scaling.pool_update_wait(pool["id"], token, timeout_seconds=30)

    assert outcome.succeeded
    after = sql.elastic_pool_get(pool["id"])
    assert (after.capacity, after.per_database_max_capacity) == (capacity, 50)


def test_a_pool_refuses_a_per_database_max_above_its_capacity(large_emulator):
    pool = next(
        p for p in large_emulator.demo["fleet"]["pools"] if p["sku"]["name"] == "StandardPool"
    )

    with pytest.raises(AzureOperationError) as caught:
        scaling.pool_update_begin(pool["id"], per_database_max=pool["sku"]["capacity"] + 100)

    assert caught.value.code == "ElasticPoolDbDtuMaxAboveLimit"


def test_a_pool_refuses_per_database_minimums_that_together_exceed_it(large_emulator):
    pool = next(
        p for p in large_emulator.demo["fleet"]["pools"] if p["sku"]["name"] == "StandardPool"
    )
    members = len(sql.elastic_pool_databases(pool["id"]))
    too_high = pool["sku"]["capacity"] // members + 10

    with pytest.raises(AzureOperationError) as caught:
        scaling.pool_update_begin(pool["id"], per_database_min=too_high, per_database_max=too_high)

    assert caught.value.code in (
        "ElasticPoolDbDtuMinAboveLimit",
        "InvalidInputValueForDatabaseDtuMax",
    )


def test_a_database_moves_to_another_pool_on_its_server(large_emulator):
    tenant, other_pool = _pool_neighbours(large_emulator)

    token = scaling.database_move_begin(tenant["database_id"], elastic_pool_id=other_pool)
    outcome = tde.database_update_wait(tenant["database_id"], token, timeout_seconds=30)

    assert outcome.succeeded
    database = sql.database_get(tenant["database_id"])
    assert database.elastic_pool_id is not None
    assert database.elastic_pool_id.lower() == other_pool.lower()


def test_a_database_moves_out_to_a_single_database_objective_and_back(large_emulator):
    tenant = large_emulator.tenants[0]

    token = scaling.database_move_begin(tenant["database_id"], sku_name="S3", sku_tier="Standard")
    out = tde.database_update_wait(tenant["database_id"], token, timeout_seconds=30)
    single = sql.database_get(tenant["database_id"])
    token = scaling.database_move_begin(
        tenant["database_id"], elastic_pool_id=tenant["elastic_pool_id"]
    )
    back = tde.database_update_wait(tenant["database_id"], token, timeout_seconds=30)

    assert out.succeeded and back.succeeded
    assert (single.elastic_pool_id, single.service_objective) == (None, "S3")
    assert sql.database_get(tenant["database_id"]).service_objective == "ElasticPool"


def test_a_move_that_would_overflow_the_pools_storage_is_refused_with_the_amount(large_emulator):
    tenant, other_pool = _pool_neighbours(large_emulator)
    # Shrink the target pool's storage to exactly what its members hold now.
    held = sum(
        large_emulator.control("GET", f"resource?id={m.id}")["_meta"]["used_bytes"]
        for m in sql.elastic_pool_databases(other_pool)
    )
    ref = parse(other_pool)
    azure_clients().sql(ref.subscription_id).elastic_pools.begin_update(
        ref.resource_group, ref.name_of("servers"), ref.name, {"properties": {"maxSizeBytes": held}}
    ).result()

    with pytest.raises(AzureOperationError) as caught:
        scaling.database_move_begin(tenant["database_id"], elastic_pool_id=other_pool)

    assert caught.value.code == "ElasticPoolOverStorage"
    assert "would overflow it by" in caught.value.message
    assert sql.database_get(tenant["database_id"]).elastic_pool_id == tenant["elastic_pool_id"]
