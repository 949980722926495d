"""Where a failover's restore slots went: Azure's records of its geo-restores next to the
portal's records of when each child took and gave back its slot.

Azure's side (the emulator's long-running operations, start to due) gives the restores in
flight, their mean and peaks, per pool and subscription. The portal's side (a child's admission,
when it took its slots, and the end of its restore step, when it gave them back) splits the
rest of the slot time: held while the restore was not yet begun, held after Azure had finished
it (the child had not looked yet), and held by nobody (the parent had not refilled it yet, or
no tenant was left for that pool).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Span:
    """One geo-restore as Azure ran it, with the child's slot around it."""

    pool: str
    subscription: str
    begun: datetime  # Azure accepted the restore
    due: datetime  # Azure finished it
    admitted: datetime | None  # the child took its slots
    released: datetime | None  # the child's restore step ended (slots given back)


@dataclass(frozen=True)
class SlotUse:
    """Restores in flight over a run and where the remaining slot time went (seconds × slots)."""

    span_seconds: float
    mean_in_flight: float
    peak: int
    pool_peak: int
    subscription_peak: int
    restoring: float  # Σ due - begun
    before_begin: float  # Σ begun - admitted
    after_done: float  # Σ released - due
    restores: int

    def share(self, part: float, allowed: int) -> float:
        whole = allowed * self.span_seconds
        return 100 * part / whole if whole else 0.0

    def unheld(self, allowed: int) -> float:
        return allowed * self.span_seconds - self.restoring - self.before_begin - self.after_done


def spans(rows: list[dict[str, Any]], children: list[Any], since: datetime) -> list[Span]:
    """Azure's geo-restores begun since `since`, each matched to the child that began it (by
    its target database), with that child's admission and the end of its restore step."""
    by_target: dict[str, Any] = {}
    for child in children:
        target = str(child.parameters.get("target_pool_id", "")).lower()
        if target:
            server = target.split("/elasticpools/")[0]
            name = str(child.parameters.get("database_name", "")).lower()
            by_target[f"{server}/databases/{name}"] = child
    found = []
    for row in rows:
        begun = datetime.fromisoformat(row["started"])
        if not row["labels"].get("restore") or begun < since:
            continue
        child = by_target.get(str(row["resource_id"]).lower())
        step = _restore_step(child)
        found.append(
            Span(
                pool=str(row["labels"].get("pool", "")).lower(),
                subscription=str(row["subscription"]).lower(),
                begun=begun,
                due=datetime.fromisoformat(row["due"]),
                admitted=child.started_at if child is not None else None,
                released=step.finished_at if step is not None else None,
            )
        )
    return found


def _restore_step(child: Any) -> Any:
    if child is None:
        return None
    return next((s for s in child.steps.all() if s.key == "restore"), None)


def slot_use(found: list[Span]) -> SlotUse:
    """Mean and peak restores in flight (Azure's records) and the slot time around them."""
    if not found:
        return SlotUse(0.0, 0.0, 0, 0, 0, 0.0, 0.0, 0.0, 0)
    events = sorted(
        [(s.begun, 1, s) for s in found] + [(s.due, -1, s) for s in found],
        key=lambda e: (e[0], e[1]),
    )
    running = peak = pool_peak = sub_peak = 0
    area = 0.0
    by_pool: Counter[str] = Counter()
    by_sub: Counter[str] = Counter()
    previous = events[0][0]
    for moment, step, span in events:
        area += running * (moment - previous).total_seconds()
        previous = moment
        running += step
        by_pool[span.pool] += step
        by_sub[span.subscription] += step
        peak = max(peak, running)
        pool_peak = max(pool_peak, by_pool[span.pool])
        sub_peak = max(sub_peak, by_sub[span.subscription])
    whole = (events[-1][0] - events[0][0]).total_seconds()
    return SlotUse(
        span_seconds=whole,
        mean_in_flight=area / whole if whole else 0.0,
        peak=peak,
        pool_peak=pool_peak,
        subscription_peak=sub_peak,
        restoring=area,
        before_begin=sum(_seconds(s.admitted, s.begun) for s in found),
        after_done=sum(_seconds(s.due, s.released) for s in found),
        restores=len(found),
    )


def _seconds(start: datetime | None, end: datetime | None) -> float:
    if start is None or end is None:
        return 0.0
    return max(0.0, (end - start).total_seconds())


def best_share(found: list[Span], *, per_pool: int, per_subscription: int, allowed: int) -> float:
    """The highest mean in flight / allowed (%) any schedule could reach with these restores:
    the run can end no sooner than its busiest pool, its busiest subscription, or the whole
    fleet at the limits could restore them (each restore as long as Azure took on average)."""
    if not found or not allowed:
        return 0.0
    mean = sum((s.due - s.begun).total_seconds() for s in found) / len(found)
    pools = Counter(s.pool for s in found)
    subscriptions = Counter(s.subscription for s in found)
    pools_of: dict[str, set[str]] = {}
    for s in found:
        pools_of.setdefault(s.subscription, set()).add(s.pool)
    shortest = max(
        [n * mean / per_pool for n in pools.values()]
        + [
            n * mean / min(per_subscription, per_pool * len(pools_of[sub]))
            for sub, n in subscriptions.items()
        ]
        + [len(found) * mean / allowed]
    )
    return 100 * len(found) * mean / (allowed * shortest)
