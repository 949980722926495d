"""scaling.rules: allowed SKUs and limits, below-peak overrides, second approvals, pool headroom."""

from __future__ import annotations

import pytest

from scaling.rules import (
    GB,
    Incoming,
    PlanChange,
    PoolChange,
    PoolRoom,
    ScalingLimits,
    needs_second_approval,
    plan_change_refusals,
    plan_monthly_cost,
    plan_sku_label,
    pool_change_refusals,
    pool_headroom_refusals,
)

LIMITS = ScalingLimits()


def test_a_plan_sku_outside_the_allowed_list_is_refused():
    problems = plan_change_refusals(PlanChange("P1v3", 2, "P3mv3", 2, 10), LIMITS)

    assert problems == [
        "P3mv3 is not an allowed plan SKU; allowed: S1, S2, S3, P0v3, P1v3, P2v3, P3v3."
    ]


def test_too_many_instances_are_refused():
    problems = plan_change_refusals(PlanChange("P1v3", 2, "P1v3", 11, 10), LIMITS)

    assert problems == ["11 instances is outside the allowed 1-10 for P1v3 (PremiumV3)."]


def test_the_target_skus_tier_caps_the_instances_below_the_setting():
    limits = ScalingLimits(plan_skus=("B1", "S1", "P1v3"), plan_max_instances=20)

    assert plan_change_refusals(PlanChange("S1", 2, "B1", 4, 10), limits) == [
        "4 instances is outside the allowed 1-3 for B1 (Basic)."
    ]
    assert plan_change_refusals(PlanChange("S1", 2, "S1", 12, 10), limits) == [
        "12 instances is outside the allowed 1-10 for S1 (Standard)."
    ]
    assert plan_change_refusals(PlanChange("S1", 2, "P1v3", 20, 10), limits) == []


def test_a_sku_is_offered_with_its_tier_size_instance_range_and_price():
    assert (
        plan_sku_label("P1v3", LIMITS)
        == "P1v3 · PremiumV3 · 2 cores · 1-10 instances · 250/instance/month"
    )
    assert (
        plan_sku_label("S3", LIMITS)
        == "S3 · Standard · 4 cores · 1-10 instances · 440/instance/month"
    )


def test_scaling_a_plan_below_its_24h_peak_needs_an_override_with_a_reason():
    change = PlanChange("P2v3", 2, "P1v3", 1, peak_cpu_percent=60)  # 4.8 cores used, 2 offered

    (problem,) = plan_change_refusals(change, LIMITS)
    assert "below the last 24 h peak" in problem and "4.8 cores" in problem
    assert plan_change_refusals(change, LIMITS, override_reason="   ") == [problem]
    assert plan_change_refusals(change, LIMITS, override_reason="quarter-end is over") == []


def test_scaling_down_above_the_peak_needs_no_override():
    assert plan_change_refusals(PlanChange("P2v3", 2, "P1v3", 2, 40), LIMITS) == []


def test_a_change_costing_more_than_the_threshold_needs_a_second_admin():
    before = plan_monthly_cost("P1v3", 2, LIMITS)
    assert not needs_second_approval(
        before=before, after=plan_monthly_cost("P1v3", 3, LIMITS), limits=LIMITS
    )
    assert needs_second_approval(
        before=before, after=plan_monthly_cost("P2v3", 3, LIMITS), limits=LIMITS
    )
    assert needs_second_approval(before=None, after=100.0, limits=LIMITS)


def test_a_pool_size_below_its_peak_or_outside_the_list_is_refused():
    change = PoolChange(
        vcore=False,
        capacity=400,
        target_capacity=250,
        peak_used=310,
        per_database_max=100,
        target_per_database_max=100,
    )

    problems = pool_change_refusals(change, LIMITS)

    assert len(problems) == 2
    assert "250 eDTU is not an allowed pool size" in problems[0]
    assert "below the last 24 h peak of 310 eDTU" in problems[1]


def test_a_pools_per_database_max_cannot_exceed_its_capacity():
    change = PoolChange(False, 400, 200, 50, 100, 300)

    assert pool_change_refusals(change, LIMITS) == [
        "The per-database max (300 eDTU) cannot exceed the pool's 200 eDTU."
    ]


def test_a_move_that_overflows_the_target_pool_says_by_how_much():
    pool = PoolRoom("pool-02", False, 200, 100 * GB, 50, int(95.5 * GB), peak_used=150)
    database = Incoming("db-acme", int(7 * GB), peak_used=60)

    problems = pool_headroom_refusals(pool, database)

    assert problems == [
        "Moving db-acme into pool-02 would overflow its storage by 2.5 GB (95.5 + 7.0 of 100.0 GB).",
        "At the last 24 h peaks pool-02 would overflow by 10 DTU (150 + 60 of 200 DTU).",
        "db-acme peaked at 60 DTU, above pool-02's per-database max of 50 DTU.",
    ]


def test_a_move_that_fits_has_no_refusal():
    pool = PoolRoom("pool-02", True, 8, 512 * GB, 2, 100 * GB, peak_used=3.5)

    assert pool_headroom_refusals(pool, Incoming("db-acme", 5 * GB, peak_used=1)) == []


def test_limits_come_from_settings_and_unknown_keys_are_refused():
    limits = ScalingLimits.from_settings({"plan_skus": ["P1v3"], "approval_threshold": 50})

    assert limits.plan_skus == ("P1v3",)
    assert limits.approval_threshold == 50
    with pytest.raises(ValueError, match="plan_sku"):
        ScalingLimits.from_settings({"plan_sku": ["P1v3"]})


def _pool(pool_id, cpu, shares=(), *, server="s1", capacity=100, size=100 * GB, used=10 * GB):
    from scaling.rules import PoolLoad

    return PoolLoad(pool_id, pool_id, server, capacity, cpu, size, used, tuple(shares))


def _share(tenant, cpu, storage=GB):
    from scaling.rules import DatabaseShare

    return DatabaseShare(f"/db/{tenant}", f"db-{tenant}", tenant, cpu, storage)


def test_a_hot_pool_gets_its_biggest_databases_moved_to_the_coolest_pool_on_its_server():
    from scaling.rules import rebalancing_advice

    hot = _pool("hot", 92, [_share("a", 30), _share("b", 15), _share("c", 5)])
    cool, warm = _pool("cool", 20), _pool("warm", 55)
    elsewhere = _pool("other-server", 0, server="s2")

    advice = rebalancing_advice([hot, cool, warm, elsewhere])

    assert [(a.tenant, a.to_pool) for a in advice] == [("a", "cool")]
    assert "hot ≈ 62%" in advice[0].why and "cool 20% → 50%" in advice[0].why


def test_no_advice_when_no_pool_on_the_server_has_room():
    from scaling.rules import rebalancing_advice

    hot = _pool("hot", 95, [_share("a", 40, storage=50 * GB)])
    full = _pool("full", 10, used=90 * GB)  # compute to spare, storage not

    assert rebalancing_advice([hot, full]) == []
    assert rebalancing_advice([_pool("calm", 60, [_share("a", 40)]), _pool("cool", 5)]) == []


def test_a_vcore_pool_receives_a_dtu_pools_load_in_dtu_equivalents():
    from scaling.rules import dtu_equivalent, rebalancing_advice

    # 2 General Purpose vCores ≈ 200 DTU: 35 DTU from a hot Standard pool fits (40 → 57.5 %).
    assert dtu_equivalent(2, "GP_Gen5") == 200 and dtu_equivalent(100, "StandardPool") == 100
    hot = _pool("hot", 95, [_share("a", 35)])
    vcore = _pool("gp", 20, capacity=dtu_equivalent(2, "GP_Gen5"))
    assert [a.to_pool for a in rebalancing_advice([hot, vcore])] == ["gp"]
    # Counted in raw vCores, the same 35 DTU could never fit into "2".
    assert rebalancing_advice([hot, _pool("gp", 20, capacity=2)]) == []
