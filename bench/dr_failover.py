"""Benchmark: fail the whole seeded fleet over to Australia Southeast during an emulated
Australia East outage, the portal's way next to a naive way, in the same run.

The portal's way is the real `region_failover` operation: children started tier 1 first by
`dr.failover_schedule` as restore slots free up (per paired pool 4, per subscription 30). The
naive way is the engine's generic fleet parent over the same children in catalogue order
(tier-unordered) with at most as many running as the limits allow in total, each child
waiting for its pool's slot like any restore.

Both are driven by the operations engine in this process: a pool of worker threads runs
`operation_execute` as Celery workers would, from a queue honouring each `Wait`'s countdown
(no Celery, no Redis: the figure is the scheduling's and Azure's, not the broker's). Azure is
the emulator, every call through the SDKs, geo-restores lasting `--restore-seconds`.
Restores in flight are read afterwards from the emulator's own records of its long-running
operations (start and end of every geo-restore), so the portal does not grade itself.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection

Figure = tuple[str, float, str, str]


class Workers:
    """Threads standing in for Celery workers: `enqueue(pk, countdown)` as the engine expects."""

    def __init__(self, count: int) -> None:
        self._queue: list[tuple[float, int, int]] = []
        self._lock = threading.Condition()
        self._seq = 0
        self._stop = False
        self._threads = [threading.Thread(target=self._work, daemon=True) for _ in range(count)]
        for thread in self._threads:
            thread.start()

    def enqueue(self, operation_id: int, countdown: float) -> None:
        with self._lock:
            self._seq += 1
            heapq.heappush(self._queue, (time.monotonic() + countdown, self._seq, operation_id))
            self._lock.notify()

    def _next(self) -> int | None:
        with self._lock:
            while not self._stop:
                if self._queue and self._queue[0][0] <= time.monotonic():
                    return heapq.heappop(self._queue)[2]
                wait = self._queue[0][0] - time.monotonic() if self._queue else 1.0
                self._lock.wait(timeout=max(0.01, min(wait, 1.0)))
            return None

    def _work(self) -> None:
        from operations.engine import operation_execute

        while (operation_id := self._next()) is not None:
            try:
                operation_execute(operation_id=operation_id, enqueue=self.enqueue)
            except Exception as exc:  # a worker logs and goes on, as Celery's would
                print(f"  worker: operation {operation_id}: {type(exc).__name__}: {exc}")  # noqa: T201
            finally:
                close_old_connections()
        connection.close()

    def stop(self) -> None:
        with self._lock:
            self._stop = True
            self._lock.notify_all()
        for thread in self._threads:
            thread.join(timeout=10)


@dataclass(frozen=True)
class Run:
    wall_seconds: float
    mean_in_flight: float
    max_in_flight: int
    max_in_a_pool: int
    max_in_a_subscription: int
    tier1_healthy_seconds: float
    failed: int


def _in_flight(rows: list[dict[str, Any]], since: datetime) -> tuple[float, int, int, int]:
    """Mean and peak restores running at once (Azure's records: start to end of each)."""
    spans = [
        (datetime.fromisoformat(r["started"]), datetime.fromisoformat(r["due"]), r)
        for r in rows
        if r["labels"].get("restore") and datetime.fromisoformat(r["started"]) >= since
    ]
    if not spans:
        return 0.0, 0, 0, 0
    events = sorted(
        [(start, 1, r) for start, _, r in spans] + [(end, -1, r) for _, end, r in spans],
        key=lambda e: (e[0], e[1]),
    )
    running = area = 0.0
    peak = 0
    by_pool: Counter[str] = Counter()
    by_sub: Counter[str] = Counter()
    pool_peak = sub_peak = 0
    previous = events[0][0]
    for moment, step, row in events:
        area += running * (moment - previous).total_seconds()
        previous = moment
        running += step
        pool = str(row["labels"].get("pool", "")).lower()
        by_pool[pool] += step
        by_sub[row["subscription"].lower()] += step
        peak = max(peak, int(running))
        pool_peak = max(pool_peak, by_pool[pool])
        sub_peak = max(sub_peak, by_sub[row["subscription"].lower()])
    span = (events[-1][0] - events[0][0]).total_seconds()
    return area / span if span else 0.0, peak, pool_peak, sub_peak


def allowed_in_flight(tenants: list[Any]) -> int:
    """What the limits allow at once: per subscription min(30, 4 × its paired pools in use)."""
    pools: dict[str, set[str]] = {}
    for tenant in tenants:
        readiness = getattr(tenant, "dr_readiness", None)
        if readiness and readiness.paired_pool_id:
            pools.setdefault(tenant.subscription_id.lower(), set()).add(
                readiness.paired_pool_id.lower()
            )
    return sum(
        min(int(settings.RESTORE_MAX_PER_SUBSCRIPTION), int(settings.RESTORE_MAX_PER_POOL) * len(p))
        for p in pools.values()
    )


def _run(emulator: Any, request: Callable[[Workers], Any], threads: int, timeout: float) -> Run:
    from django.utils import timezone

    from operations.models import Operation

    since = timezone.now() - timedelta(seconds=1)
    workers = Workers(threads)
    started = time.perf_counter()
    try:
        parent = request(workers)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            parent.refresh_from_db()
            if parent.is_finished:
                break
            time.sleep(1.0)
    finally:
        workers.stop()
    wall = time.perf_counter() - started
    rows = emulator.control("GET", "operations")["operations"]
    mean, peak, pool_peak, sub_peak = _in_flight(rows, since)
    children = list(parent.children.select_related("tenant"))
    tier1_done = [
        c.finished_at
        for c in children
        if c.tenant is not None and c.tenant.dr_tier == 1 and c.finished_at is not None
    ]
    print(  # noqa: T201
        f"  {parent.kind}: {len(children)} children, {len(tier1_done)} tier-1 finished; "
        f"{parent.get_state_display()}: {parent.error_message[:200]}"
    )
    tier1 = (max(tier1_done) - parent.started_at).total_seconds() if tier1_done else float("nan")
    failed = sum(1 for c in children if c.state != Operation.State.SUCCEEDED)
    return Run(wall, mean, peak, pool_peak, sub_peak, tier1, failed)


# -- the naive way: the engine's generic fleet parent, catalogue order ----------------------------

NAIVE = "bench_failover_unordered"


@dataclass(frozen=True)
class NaiveParameters:
    max_running: int


def _naive_supervise(context: Any) -> Any:
    from dr.failover import TENANT_FAILOVER, tenant_failover_parameters
    from operations.fleet import ChildRequest, children_supervise
    from operations.services import tenant_subject
    from tenants.models import Tenant

    tenants = Tenant.objects.filter(region="australiaeast").select_related("dr_readiness")
    return children_supervise(
        context,
        children=[
            ChildRequest(TENANT_FAILOVER, tenant_subject(t), tenant_failover_parameters(t), t)
            for t in tenants.order_by("slug")
        ],
        max_running=context.parameters(NaiveParameters).max_running,
        look_again_seconds=1.0,
    )


def _naive_kind() -> Any:
    from operations.kinds import OperationKind, Step
    from portal.roles import APPROVE_OPERATION

    return OperationKind(
        name=NAIVE,
        label="Fail over in catalogue order",
        permission=APPROVE_OPERATION,
        needs_approval=lambda: True,
        plan=lambda operation: [Step("children", "Fail every tenant over", _naive_supervise)],
        parameters=NaiveParameters,
    )


def _outage(emulator: Any, restore_seconds: float) -> None:
    emulator.control("POST", "faults/outage", {"region": "australiaeast", "active": True})
    emulator.control(
        "POST", "lro", {"operation": "databases.create_or_update", "seconds": restore_seconds}
    )
    big = {"size": 1_000_000, "refill_per_second": 1_000_000}
    emulator.control("POST", "throttle", {"reads": big, "writes": big, "deletes": big})


def _rows(name: str, run: Run, allowed: int) -> list[Figure]:
    return [
        (f"{name}: wall time", run.wall_seconds, "s", "—"),
        (
            f"{name}: restores in flight, mean / allowed {allowed}",
            100 * run.mean_in_flight / allowed if allowed else 0.0,
            "%",
            ">= 90 %",
        ),
        (
            f"{name}: restores in flight, most at once",
            float(run.max_in_flight),
            "",
            f"<= {allowed}",
        ),
        (f"{name}: most in one pool", float(run.max_in_a_pool), "", "<= 4"),
        (f"{name}: most in one subscription", float(run.max_in_a_subscription), "", "<= 30"),
        (f"{name}: every tier-1 tenant healthy after", run.tier1_healthy_seconds, "s", "—"),
        (f"{name}: tenants not failed over (seeded gaps)", float(run.failed), "", "—"),
    ]


def measure(emulator: Any, *, restore_seconds: float = 10.0, threads: int = 16) -> list[Figure]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from dr.services import failover_declare, readiness_refresh
    from operations.kinds import Subject, registered
    from operations.models import Operation
    from operations.services import operation_approve, operation_request
    from tenants.models import Tenant

    # A restore is polled five times over its length: each poll is an SDK call and a worker
    # visit, and on this machine's two cores those, not Azure, bound how many run at once.
    settings.OPERATIONS_WAIT_SECONDS = restore_seconds / 5
    settings.OPERATIONS_ADMISSION_RETRY_SECONDS = 1.0
    admins = []
    for name in ("bench-dr-ada", "bench-dr-blake"):
        user = get_user_model().objects.create_user(name, is_staff=True)
        user.groups.add(Group.objects.get(name="Admins"))
        admins.append(user)
    readiness_refresh()
    tenants = list(Tenant.objects.select_related("dr_readiness"))
    allowed = allowed_in_flight(tenants)
    timeout = 60 + 4 * restore_seconds * len(tenants) / max(1, allowed)
    tiers = Counter(t.dr_tier for t in tenants)
    print(  # noqa: T201
        f"  failover bench: {len(tenants)} tenants (by tier {dict(sorted(tiers.items()))}), "
        f"geo-restores of {restore_seconds:g} s, "
        f"engine driven in-process by {threads} worker threads (no Celery), allowed {allowed}"
    )

    def tier_first(workers: Workers) -> Operation:
        parent = failover_declare(
            region="australiaeast", reason="bench", declared_by=admins[0], enqueue=workers.enqueue
        )
        return operation_approve(operation=parent, approver=admins[1], enqueue=workers.enqueue)

    def unordered(workers: Workers) -> Operation:
        parent = operation_request(
            kind=NAIVE,
            subject=Subject(Operation.Subject.FLEET, "fleet", "the fleet"),
            requested_by=admins[0],
            reason="bench",
            parameters=NaiveParameters(max_running=allowed),
            enqueue=workers.enqueue,
        )
        return operation_approve(operation=parent, approver=admins[1], enqueue=workers.enqueue)

    _outage(emulator, restore_seconds)
    ours = _run(emulator, tier_first, threads, timeout)
    # Back to the region as it was: Azure reseeded, the catalogue at home again.
    emulator.reset()
    Tenant.objects.update(
        active_region="",
        active_sql_server_id="",
        active_database_id="",
        active_elastic_pool_id="",
        active_site_id="",
        active_since=None,
    )
    _outage(emulator, restore_seconds)
    with registered(_naive_kind()):
        naive = _run(emulator, unordered, threads, timeout)
    return _rows("failover, tier first at the limits", ours, allowed) + _rows(
        "failover, naive (catalogue order)", naive, allowed
    )
