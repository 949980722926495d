"""The fleet dashboard at fleet scale: server time and query count, next to the naive way
(every tenant on one page, its health read row by row)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import connection
from django.test import Client
from django.utils import timezone

from monitoring.models import HealthStatus, TenantHealth
from tenants.models import Tenant

Result = tuple[str, float, str, str]
STATUSES = (HealthStatus.HEALTHY,) * 7 + (
    HealthStatus.DEGRADED,
    HealthStatus.DOWN,
    HealthStatus.UNKNOWN,
)


def _timed(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def _queries(fn: Callable[[], object]) -> int:
    seen: list[str] = []

    def count(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        fn()
    return len(seen)


def _series(now: datetime, metrics: tuple[str, ...], n: int) -> dict[str, list[list[object]]]:
    """24 hourly points per metric, as the hourly refresh stores them."""
    hours = [
        (now - timedelta(hours=24 - h)).replace(minute=0, second=0, microsecond=0)
        for h in range(24)
    ]
    return {
        m: [[t.isoformat(), float((n + h) % 100)] for h, t in enumerate(hours)] for m in metrics
    }


DB_METRICS = (
    "cpu_percent",
    "storage_percent",
    "workers_percent",
    "sessions_percent",
    "log_write_percent",
    "storage",
)
APP_METRICS = ("Requests", "Http5xx", "HttpResponseTime")
AI_METRICS = (
    "availabilityResults/availabilityPercentage",
    "requests/failed",
    "exceptions/count",
    "requests/duration",
)


def _heavy(now: datetime, n: int) -> dict[str, Any]:
    """What a tenant's row carries once the hourly refresh has run: 24 h series, LTR backups,
    recommendations (the dashboard must not pay for them)."""
    return {
        "db_series": _series(now, DB_METRICS, n),
        "app_series": _series(now, APP_METRICS, n),
        "ai_series": _series(now, AI_METRICS, n),
        "ltr_backups": [
            {"id": f"/ltr/{n}/{w}", "name": f"backup-{w}", "backup_time": (now - timedelta(weeks=w)).isoformat(),
             "expires": (now + timedelta(weeks=52 - w)).isoformat(), "redundancy": "Geo"}
            for w in range(20)
        ],
        "recommendations": [
            {"name": f"Recommendation {r}", "severity": "High", "resource_id": f"/r/{n}", "resource": str(n),
             "description": "x" * 200, "remediation": "y" * 300}
            for r in range(n % 3)
        ],
        "open_recommendations": n % 3,
    }  # fmt: skip


def snapshot_rows() -> int:
    """Health rows for tenants the refresh has not reached (a believable spread, with the
    series and lists the hourly refresh stores), so the dashboard is measured with a full
    table. Returns how many were made up."""
    now = timezone.now()
    missing = Tenant.objects.filter(health__isnull=True).order_by("pk")
    rows = [
        TenantHealth(
            tenant=tenant,
            status=STATUSES[n % len(STATUSES)],
            reasons=[] if n % 10 < 7 else ["Pool CPU above 90 % for 30 minutes."],
            as_of=now - timedelta(seconds=n % 300),
            region=tenant.region,
            app_state="Running" if n % 10 != 8 else "Stopped",
            db_status="Online",
            db_cpu_percent=float(n % 100),
            pool_name=f"pool-{n % 40:02d}",
            pool_use_percent=float((n * 7) % 100),
            backup_latest=now - timedelta(minutes=n % 30),
            alerts_high=int(n % 17 == 0),
            alerts_medium=n % 3,
            posture_failures=int(n % 13 == 0),
            **_heavy(now, n),
        )
        for n, tenant in enumerate(missing)
    ]
    TenantHealth.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def dashboard_figures(client: Client) -> list[Result]:
    made_up = snapshot_rows()
    tenants = Tenant.objects.count()
    note = f" ({made_up} synthetic health rows)" if made_up else ""
    results: list[Result] = []
    for label, url in (
        ("fleet dashboard", "/"),
        ("fleet dashboard, filtered and sorted", "/?status=degraded&alerts=on&sort=alerts"),
    ):
        assert client.get(url).status_code == 200
        page = partial(client.get, url)
        results.append(
            (
                f"{label}, median server time{note}",
                _timed(page, 10),
                "ms",
                "<= 150 ms",
            )
        )
        results.append(
            (
                f"{label}, queries",
                float(_queries(page)),
                "queries",
                "constant",
            )
        )

    def naive() -> None:
        for tenant in Tenant.objects.all():
            TenantHealth.objects.filter(tenant=tenant).first()

    results.append(
        (
            f"naive: every tenant's health read row by row ({tenants} tenants)",
            _timed(naive, 3),
            "ms",
            "for comparison",
        )
    )
    results.append(("naive: queries", float(_queries(naive)), "queries", "grows with the fleet"))
    return results
