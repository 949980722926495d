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
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connection, connections

from bench.failover_slots import SlotUse, best_share, slot_use, spans

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
    slots: SlotUse
    best_share: float
    tier1_healthy_seconds: float
    failed: int
    portal_cpu: float
    emulator_cpu: float


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), whatever the machine's load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def allowed_in_flight(tenants: list[Any]) -> int:
    """What the limits allow at once: per subscription min(30, 4 × the paired pools its
    geo-restores go to)."""
    pools: dict[str, set[str]] = {}
    for tenant in tenants:
        readiness = getattr(tenant, "dr_readiness", None)
        # A tenant failing over by its replication link restores nothing: no slot.
        if readiness and readiness.paired_pool_id and not readiness.geo_secondary_id:
            pools.setdefault(tenant.subscription_id.lower(), set()).add(
                readiness.paired_pool_id.lower()
            )
    return sum(
        min(int(settings.RESTORE_MAX_PER_SUBSCRIPTION), int(settings.RESTORE_MAX_PER_POOL) * len(p))
        for p in pools.values()
    )


def _run(
    emulator: Any, request: Callable[[Workers], Any], threads: int, timeout: float, allowed: int
) -> Run:
    from django.utils import timezone

    from operations.models import Operation

    since = timezone.now() - timedelta(seconds=1)
    workers = Workers(threads)
    emulator_pid = emulator.process.pid if emulator.process else os.getpid()
    emulator_cpu, portal_cpu = _cpu_seconds(emulator_pid), time.process_time()
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
    portal_cpu = time.process_time() - portal_cpu
    emulator_cpu = _cpu_seconds(emulator_pid) - emulator_cpu
    rows = emulator.control("GET", "operations")["operations"]
    children = list(parent.children.select_related("tenant").prefetch_related("steps"))
    found = spans(rows, children, since)
    slots = slot_use(found)
    best = best_share(
        found,
        per_pool=int(settings.RESTORE_MAX_PER_POOL),
        per_subscription=int(settings.RESTORE_MAX_PER_SUBSCRIPTION),
        allowed=allowed,
    )
    tier1_done = [
        c.finished_at
        for c in children
        if c.tenant is not None and c.tenant.dr_tier == 1 and c.finished_at is not None
    ]
    print(  # noqa: T201
        f"  {parent.kind}: {len(children)} children, {slots.restores} geo-restores, "
        f"{len(tier1_done)} tier-1 finished; {parent.get_state_display()}: "
        f"{parent.error_message[:200]}"
    )
    tier1 = (max(tier1_done) - parent.started_at).total_seconds() if tier1_done else float("nan")
    failed = sum(1 for c in children if c.state != Operation.State.SUCCEEDED)
    return Run(wall, slots, best, tier1, failed, portal_cpu, emulator_cpu)


# -- the naive way: the engine's generic fleet parent, catalogue order ----------------------------

NAIVE = "bench_failover_unordered"


@dataclass(frozen=True)
class NaiveParameters:
    max_running: int
    # Every n-th tenant in catalogue order (1: all): the naive way measured on a sample.
    every: int = 1


def _naive_supervise(context: Any) -> Any:
    from dr.failover import TENANT_FAILOVER, tenant_failover_parameters
    from operations.fleet import ChildRequest, children_supervise
    from operations.services import tenant_subject
    from tenants.models import Tenant

    p = context.parameters(NaiveParameters)
    tenants = Tenant.objects.filter(region="australiaeast").select_related("dr_readiness")
    return children_supervise(
        context,
        children=[
            ChildRequest(TENANT_FAILOVER, tenant_subject(t), tenant_failover_parameters(t), t)
            for t in list(tenants.order_by("slug"))[:: p.every]
        ],
        max_running=p.max_running,
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


def _rows(name: str, run: Run, allowed: int, *, scale: float = 1.0) -> list[Figure]:
    """The figures of one way; `scale` > 1: measured on 1/scale of the fleet, and the wall and
    tier-1 times extrapolated to the whole fleet (same limits, scale times the restores)."""
    slots = run.slots
    extrapolated: list[Figure] = []
    if scale != 1.0:
        extrapolated = [
            (f"{name}: wall time, extrapolated to the fleet", run.wall_seconds * scale, "s", "—"),
            (
                f"{name}: every tier-1 tenant healthy after, extrapolated",
                run.tier1_healthy_seconds * scale,
                "s",
                "—",
            ),
        ]
    return [
        (f"{name}: wall time", run.wall_seconds, "s", "—"),
        (
            f"{name}: restores in flight, mean / allowed {allowed}",
            100 * slots.mean_in_flight / allowed if allowed else 0.0,
            "%",
            ">= 90 %",
        ),
        (
            f"{name}: best any schedule could reach (pools' shares of the fleet)",
            run.best_share,
            "%",
            "—",
        ),
        (f"{name}: restores in flight, most at once", float(slots.peak), "", f"<= {allowed}"),
        (
            f"{name}: most in one pool",
            float(slots.pool_peak),
            "",
            f"<= {settings.RESTORE_MAX_PER_POOL}",
        ),
        (
            f"{name}: most in one subscription",
            float(slots.subscription_peak),
            "",
            f"<= {settings.RESTORE_MAX_PER_SUBSCRIPTION}",
        ),
        (
            f"{name}: slot time held before the restore began",
            slots.share(slots.before_begin, allowed),
            "%",
            "—",
        ),
        (
            f"{name}: slot time held after Azure had finished",
            slots.share(slots.after_done, allowed),
            "%",
            "—",
        ),
        (
            f"{name}: slot time held by nobody",
            slots.share(slots.unheld(allowed), allowed),
            "%",
            "—",
        ),
        (f"{name}: every tier-1 tenant healthy after", run.tier1_healthy_seconds, "s", "—"),
        (f"{name}: tenants not failed over (seeded gaps)", float(run.failed), "", "—"),
        (f"{name}: CPU time, portal process", run.portal_cpu, "s", "—"),
        (f"{name}: CPU time, emulator process", run.emulator_cpu, "s", "—"),
        *extrapolated,
    ]


def _within_limits(name: str, run: Run, allowed: int) -> None:
    """Never more restores in flight than Azure allows: a run that exceeded a limit is no figure."""
    slots = run.slots
    over = [
        f"{what} {seen} > {limit}"
        for what, seen, limit in (
            ("in flight", slots.peak, allowed),
            ("in one pool", slots.pool_peak, int(settings.RESTORE_MAX_PER_POOL)),
            (
                "in one subscription",
                slots.subscription_peak,
                int(settings.RESTORE_MAX_PER_SUBSCRIPTION),
            ),
        )
        if seen > limit
    ]
    if over:
        raise AssertionError(f"{name}: restores exceeded Azure's limits: {', '.join(over)}")


def _readiness() -> None:
    """What a running portal has before a failover: the geo backups read by a backups refresh
    and readiness worked out from them (the signal that would queue it on Celery is held off:
    no broker here)."""
    from dr.services import readiness_refresh
    from monitoring.models import RefreshRun
    from monitoring.services import fleet_refresh
    from monitoring.signals import backups_refreshed

    backups_refreshed.disconnect(dispatch_uid="dr.readiness")
    try:
        fleet_refresh(kind=RefreshRun.Kind.BACKUPS)
    finally:
        from dr.receivers import readiness_after_backups

        backups_refreshed.connect(readiness_after_backups, dispatch_uid="dr.readiness")
    readiness_refresh()


def measure(
    emulator: Any, *, restore_seconds: float = 20.0, naive_sample: int = 300, threads: int = 10
) -> list[Figure]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from dr.services import failover_declare
    from operations.kinds import Subject, registered
    from operations.models import Operation
    from operations.services import operation_approve, operation_request
    from tenants.models import Tenant

    # Every SDK request and every dropped wake-up is logged at INFO: noise, and CPU, here.
    for logger in ("httpx", "operations.engine"):
        logging.getLogger(logger).setLevel(logging.WARNING)
    settings.OPERATIONS_WAIT_SECONDS = restore_seconds / 2
    settings.OPERATIONS_ADMISSION_RETRY_SECONDS = 1.0
    # Worker threads keep their database connection between visits, as the portal's Azure SQL
    # configuration does (CONN_MAX_AGE 60); SQLite's default would reconnect on every visit.
    connections.settings[DEFAULT_DB_ALIAS]["CONN_MAX_AGE"] = 60
    admins = []
    for name in ("bench-dr-ada", "bench-dr-blake"):
        user = get_user_model().objects.create_user(name, is_staff=True)
        user.groups.add(Group.objects.get(name="Admins"))
        admins.append(user)
    _readiness()
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
            parameters=NaiveParameters(max_running=allowed, every=every),
            enqueue=workers.enqueue,
        )
        return operation_approve(operation=parent, approver=admins[1], enqueue=workers.enqueue)

    _outage(emulator, restore_seconds)
    ours = _run(emulator, tier_first, threads, timeout, allowed)
    _within_limits("tier first", ours, allowed)
    rows = _rows("failover, tier first at the limits", ours, allowed)
    if not naive_sample:
        return rows
    every = max(1, round(len(tenants) / naive_sample))
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
        naive = _run(emulator, unordered, threads, timeout / every, allowed)
    _within_limits("naive", naive, allowed)
    sampled = len(tenants[::every])
    name = "failover, naive (catalogue order)"
    if every > 1:
        name += f" on {sampled} of {len(tenants)} tenants"
    return rows + _rows(name, naive, allowed, scale=len(tenants) / sampled)
