"""Which tenants' failovers start next: highest tier first, as many as Azure restores at once.

Azure processes at most `RESTORE_MAX_PER_POOL` restores into one elastic pool and
`RESTORE_MAX_PER_SUBSCRIPTION` per subscription, and queues the rest out of sight. The parent
keeps every limit full, never over: on each visit it counts the restore slots held (by anyone:
a drill or a support engineer's restore counts too) plus its own children queued to take one,
and starts, in tier order, each pending tenant whose pool and subscription both have room. A
tier-1 tenant whose pool is full does not hold back a tier-2 tenant bound for another pool; it
takes the next slot its pool frees, because it comes first in the order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count

from operations.models import AdmissionSlot


@dataclass(frozen=True)
class Pending:
    """A tenant not yet started: where its restore will land."""

    slug: str
    tier: int
    pool_key: str  # "" when it has no target pool (its own check will fail and say why)
    subscription_key: str


def pool_key(pool_id: str) -> str:
    return f"restores:pool:{pool_id.lower()}" if pool_id else ""


def subscription_key(subscription_id: str) -> str:
    return f"restores:subscription:{subscription_id.lower()}"


def capacity(key: str) -> int:
    if key.startswith("restores:pool:"):
        return int(settings.RESTORE_MAX_PER_POOL)
    return int(settings.RESTORE_MAX_PER_SUBSCRIPTION)


def held_slots() -> Counter[str]:
    """Restore slots held now, by limit key (one query)."""
    rows = (
        AdmissionSlot.objects.filter(key__startswith="restores:")
        .values("key")
        .annotate(n=Count("id"))
        .order_by()
    )
    return Counter({row["key"]: row["n"] for row in rows})


def choose(pending: Iterable[Pending], taken: Counter[str]) -> list[Pending]:
    """The pending tenants to start now, in order, given the slots `taken` (held plus queued).

    `pending` must already be in failover order (tier, then the plan's order)."""
    pending = list(pending)
    taken = Counter(taken)
    keys_seen = {k for item in pending for k in (item.pool_key, item.subscription_key)}
    limit = {k: capacity(k) for k in keys_seen}
    # Once every subscription is full only a tenant taking no slot (a failover of its
    # replication link) can start: a visit early in a big failover checks no further limits.
    open_subscriptions = {
        item.subscription_key
        for item in pending
        if taken[item.subscription_key] < limit[item.subscription_key]
    }
    open_subscriptions.discard("")
    chosen = []
    for item in pending:
        keys = [k for k in (item.pool_key, item.subscription_key) if k]
        if keys and not open_subscriptions:
            continue
        if all(taken[k] < limit[k] for k in keys):
            chosen.append(item)
            taken.update(keys)
            if taken[item.subscription_key] >= limit[item.subscription_key]:
                open_subscriptions.discard(item.subscription_key)
    return chosen
