"""The hot refresh of the whole fleet against the emulator with ARM-like throttling and 50 ms
added to every call, next to the naive way (every resource read one by one per tenant),
measured in the same run on a sample of tenants and extrapolated (printed as such)."""

from __future__ import annotations

import contextvars
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from monitoring.models import RefreshRun
from monitoring.services import fleet_refresh
from portal.azure import availability, defender, monitor, web
from portal.azure import sql as azure_sql
from portal.azure.meter import metered
from tenants.models import Tenant

Result = tuple[str, float, str, str]
LATENCY_MS = 50
# ARM's per-subscription read bucket (size, refill per second), as the emulator throttles.
BUCKET, REFILL = 250, 25.0
NAIVE_SAMPLE = 40
CONCURRENCY = 8


def _naive_one(tenant: Tenant) -> None:
    """What a refresh without lists or batches does for one tenant."""
    web.site_get(tenant.app_service_site_id)  # site + its config: 2 calls
    azure_sql.database_get(tenant.database_id)
    azure_sql.elastic_pool_get(tenant.elastic_pool_id)
    availability.availability_of(tenant.app_service_site_id)
    availability.availability_of(tenant.database_id)
    monitor.metric_latest(tenant.database_id, "cpu_percent")
    monitor.metric_latest(tenant.elastic_pool_id, "cpu_percent")
    defender.alerts_in_resource_group(tenant.subscription_id, tenant.resource_group)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc): what the refresh cost whatever the
    machine's load, next to the wall time that load stretches."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _reset_throttle(emulator: Any) -> None:
    emulator.control(
        "POST", "throttle", {"reads": {"size": BUCKET, "refill_per_second": REFILL}, "reset": True}
    )


def measure(emulator: Any) -> list[Result]:
    tenants = list(Tenant.objects.order_by("pk"))
    count = len(tenants)
    subscriptions = len({t.subscription_id for t in tenants})
    emulator.control("POST", "faults/latency", {"operation": "*", "ms": LATENCY_MS})
    _reset_throttle(emulator)
    try:
        emulator_pid = emulator.process.pid if emulator.process else os.getpid()
        emulator_cpu, portal_cpu = _cpu_seconds(emulator_pid), time.process_time()
        started = time.perf_counter()
        run = fleet_refresh(kind=RefreshRun.Kind.HOT, tenants=tenants)
        wall = time.perf_counter() - started
        portal_cpu = time.process_time() - portal_cpu
        emulator_cpu = _cpu_seconds(emulator_pid) - emulator_cpu
        failed = sum(len(v) for v in (run.errors or {}).values())
        _reset_throttle(emulator)
        sample = tenants[:: max(1, count // NAIVE_SAMPLE)][:NAIVE_SAMPLE]
        with metered() as meter, ThreadPoolExecutor(CONCURRENCY) as pool:
            naive_started = time.perf_counter()
            for future in [
                pool.submit(contextvars.copy_context().run, _naive_one, t) for t in sample
            ]:
                future.result()
            naive_wall = time.perf_counter() - naive_started
    finally:
        emulator.control("DELETE", "faults")
        _reset_throttle(emulator)
    per_tenant = meter.calls / len(sample)
    naive_calls = per_tenant * count
    # Past the bucket, ARM lets REFILL reads a second through per subscription.
    throttled_floor = max(0.0, naive_calls / subscriptions - BUCKET) / REFILL
    naive_extrapolated = max(naive_wall * count / len(sample), throttled_floor)
    return [
        (f"hot refresh of {count} tenants, wall time", wall, "s", "<= 15 s"),
        ("hot refresh, CPU time in the portal process", portal_cpu, "s", "-"),
        ("hot refresh, CPU time in the emulator process", emulator_cpu, "s", "-"),
        ("hot refresh, Azure calls", float(run.azure_calls), "", f"<= {count // 10}"),
        (
            "hot refresh, Azure calls per tenant (x1000)",
            1000 * run.azure_calls / count,
            "",
            "<= 100",
        ),
        ("hot refresh, 429s seen (all retried)", float(run.throttled), "", "no unhandled 429"),
        ("hot refresh, sources unavailable (reasons)", float(failed), "", "0"),
        (f"naive per-resource, calls per tenant ({len(sample)} sampled)", per_tenant, "/t", "-"),
        (f"naive, measured on {len(sample)} tenants", naive_wall, "s", "-"),
        (f"naive, extrapolated to {count} (throttle-bound)", naive_extrapolated, "s", "-"),
        ("naive / hot, calls", naive_calls / max(1, run.azure_calls), "x", "-"),
    ]
