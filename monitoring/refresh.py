"""The refresh pipeline: read the sources for a set of tenants (in parallel, each on its own),
then write every snapshot, re-evaluate health and record status changes in one transaction.

Reading and writing are separate so a slow or failing source never holds a database write
lock, and so one failing source marks only its part of each tenant as unavailable.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from django.db import transaction

from dr.posture import add_dr_checks
from monitoring import collect, collect_backups, collect_metrics
from monitoring.fleet import Fleet, SourceResult
from monitoring.freshness import hot_refresh_interval
from monitoring.health import Context, evaluate
from monitoring.models import PoolSnapshot, Source, StatusChange, TenantHealth
from monitoring.rows import update_columns
from monitoring.snapshots import (
    apply_alerts,
    apply_pools,
    apply_posture,
    apply_source,
    storage_percent,
)
from monitoring.sources import RECOMMENDATIONS, oldest_hot_as_of
from notifications.services import status_changes_notify
from tenants.models import Tenant

Reader = Callable[[Fleet, datetime], SourceResult]

HOT_READERS: dict[str, Reader] = {
    Source.APPS: lambda fleet, now: collect.read_apps(fleet),
    Source.DATABASES: lambda fleet, now: collect.read_databases(fleet),
    Source.POOLS: lambda fleet, now: collect.read_pools(fleet),
    Source.RESOURCE_HEALTH: lambda fleet, now: collect.read_resource_health(fleet),
    Source.ALERTS: collect.read_alerts,
    Source.METRICS: collect_metrics.read_latest,
}
HOURLY_READERS: dict[str, Reader] = {
    Source.BACKUPS: collect_backups.read_backups,
    Source.PLANS: lambda fleet, now: collect.read_plans(fleet),
    "series": collect_metrics.read_series,
    Source.APP_INSIGHTS: collect_metrics.read_app_insights,
    # Defender re-evaluates recommendations a few times a day, so hourly is plenty.
    RECOMMENDATIONS: lambda fleet, now: collect.read_recommendations(fleet),
}


def read_all(fleet: Fleet, now: datetime, readers: dict[str, Reader]) -> dict[str, SourceResult]:
    """Every reader at once (each makes its own Azure calls); results by source."""
    with ThreadPoolExecutor(max_workers=len(readers)) as pool:
        futures = {
            name: pool.submit(contextvars.copy_context().run, reader, fleet, now)
            for name, reader in readers.items()
        }
        return {name: future.result() for name, future in futures.items()}


# Tens of kilobytes of JSON per tenant (24 h series, lists) that only the hourly sources write:
# a run that does not write them does not load them (2,000 rows of series cost seconds to
# decode; nothing in the write path reads them, and update_columns saves only what a run set).
HEAVY_COLUMNS = frozenset(
    {"db_series", "app_series", "ai_series", "recommendations", "ltr_backups", "ltr_policy",
     "backup_window_parts"}
)  # fmt: skip


def _healths(tenants: list[Tenant], skip: set[str]) -> dict[int, TenantHealth]:
    existing = set(
        TenantHealth.objects.filter(tenant__in=tenants).values_list("tenant_id", flat=True)
    )
    missing = [TenantHealth(tenant=t) for t in tenants if t.pk not in existing]
    TenantHealth.objects.bulk_create(missing, ignore_conflicts=True)
    healths = (
        TenantHealth.objects.select_related("tenant")
        .defer(*sorted(skip))
        .in_bulk([t.pk for t in tenants])
    )
    # Rules read the tenant the refresh watched (the copy it runs on now, `fleet.watched`).
    by_pk = {t.pk: t for t in tenants}
    for pk, health in healths.items():
        health.tenant = by_pk[pk]
    return healths


def write(fleet: Fleet, results: dict[str, SourceResult], now: datetime) -> dict[str, Any]:
    """Apply what was read, evaluate every tenant, save. Returns errors by source."""
    with transaction.atomic():
        healths = _healths(fleet.tenants, set(HEAVY_COLUMNS - _written(results)))
        errors: dict[str, Any] = {}
        if Source.POSTURE in results:
            # "DR ready" is worked out by the DR refresh; a posture read keeps it (read here,
            # not in the reader's thread, so it sees this transaction's database).
            add_dr_checks(results[Source.POSTURE])
        for source, result in results.items():
            apply_source(healths, source, result, now)
            if result.failed:
                errors[source] = sorted(set(result.failed.values()))[:5]
        if Source.METRICS in results:
            for health in healths.values():
                health.db_storage_percent = storage_percent(health)
        pools = apply_pools(fleet, healths, results, now)
        if Source.ALERTS in results:
            apply_alerts(fleet, healths, results[Source.ALERTS], now)
        if Source.POSTURE in results:
            apply_posture(results[Source.POSTURE], now)
        changes = [
            change
            for health in healths.values()
            if (change := _evaluate(health, pools, now)) is not None
        ]
        update_columns(TenantHealth, list(healths.values()), _written(results))
        StatusChange.objects.bulk_create(changes)
        # Account managers hear of their tenants' changes once this commits.
        status_changes_notify(changes=changes)
    return errors


def _evaluate(
    health: TenantHealth, pools: dict[str, PoolSnapshot], now: datetime
) -> StatusChange | None:
    pool = pools.get(health.tenant.elastic_pool_id.lower())
    status, reasons = evaluate(
        Context(health=health, pool=pool, now=now, refresh_interval=hot_refresh_interval())
    )
    previous = health.status if health.evaluated_at else ""
    health.reasons = reasons
    health.evaluated_at = now
    health.as_of = oldest_hot_as_of(health)
    if previous == status:
        return None
    health.status = status
    health.status_since = now
    return StatusChange(
        tenant_id=health.pk, at=now, from_status=previous, to_status=status, reasons=reasons
    )


# Written by every run; the rest only when a source of the run sets them.
_ALWAYS = {"status", "reasons", "status_since", "evaluated_at", "as_of", "sources"}
_ALERT_COUNTS = {"alerts_high", "alerts_medium", "alerts_low", "alerts_informational"}
_POOL_COPIES = {"pool_use_percent", "pool_share_percent", "db_storage_percent"}


def _written(results: dict[str, SourceResult]) -> set[str]:
    names = _ALWAYS | _POOL_COPIES
    for result in results.values():
        for values in result.updates.values():
            names |= {name for name in values if not name.startswith("_")}
    if Source.ALERTS in results:
        names |= _ALERT_COUNTS
    return names


def refresh(tenants: list[Tenant], now: datetime, readers: dict[str, Reader]) -> dict[str, Any]:
    fleet = Fleet(tenants)
    results = read_all(fleet, now, readers)
    return write(fleet, results, now)
