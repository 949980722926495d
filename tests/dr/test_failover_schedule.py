"""Which failovers start next: tier order, and never more restores than Azure processes."""

from __future__ import annotations

from collections import Counter

import pytest

from dr.failover_schedule import Pending, choose, pool_key, subscription_key

SUB = subscription_key("sub-1")
OTHER_SUB = subscription_key("sub-2")


def pending(slug: str, tier: int, pool: str, sub: str = SUB) -> Pending:
    return Pending(slug, tier, pool_key(pool) if pool else "", sub)


@pytest.fixture(autouse=True)
def limits(settings):
    settings.RESTORE_MAX_PER_POOL = 4
    settings.RESTORE_MAX_PER_SUBSCRIPTION = 30


def test_it_starts_at_most_four_restores_into_one_pool_in_the_given_order():
    queue = [pending(f"t{n}", 1, "pool-a") for n in range(6)]
    assert [p.slug for p in choose(queue, Counter())] == ["t0", "t1", "t2", "t3"]


def test_slots_already_held_by_anyone_count_against_the_pool():
    queue = [pending(f"t{n}", 1, "pool-a") for n in range(6)]
    chosen = choose(queue, Counter({pool_key("pool-a"): 3}))
    assert [p.slug for p in chosen] == ["t0"]


def test_a_full_pool_does_not_hold_back_a_tenant_bound_for_another_pool():
    queue = [
        pending("first-a", 1, "pool-a"),
        pending("second-a", 1, "pool-a"),
        pending("tier2-b", 2, "pool-b"),
    ]
    chosen = choose(queue, Counter({pool_key("pool-a"): 3}))
    assert [p.slug for p in chosen] == ["first-a", "tier2-b"]


def test_the_subscription_limit_caps_the_sum_over_its_pools():
    queue = [pending(f"t{n}", 1 + n // 40, f"pool-{n % 10}") for n in range(100)]
    queue.append(pending("elsewhere", 3, "pool-x", OTHER_SUB))
    chosen = choose(queue, Counter())
    mine = [p for p in chosen if p.subscription_key == SUB]
    assert len(mine) == 30
    assert max(Counter(p.pool_key for p in mine).values()) <= 4
    # The other subscription has its own limit.
    assert chosen[-1].slug == "elsewhere"
    # Highest tier first: every tier-1 tenant that had room was chosen before any tier 2.
    assert [p.tier for p in mine] == sorted(p.tier for p in mine)


def test_a_tenant_without_a_target_pool_needs_only_a_subscription_slot():
    queue = [pending("no-pool", 1, "")]
    assert choose(queue, Counter({SUB: 29})) == queue
    assert choose(queue, Counter({SUB: 30})) == []


def test_a_failover_taking_no_slot_starts_even_when_every_subscription_is_full():
    by_link = Pending("by-link", 3, "", "")
    queue = [pending("waits", 1, "pool-a"), by_link, pending("waits-too", 2, "pool-b", OTHER_SUB)]
    assert choose(queue, Counter({SUB: 30, OTHER_SUB: 30})) == [by_link]
