"""Writing what the sources read onto the snapshot rows: tenant columns, pools, alerts."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from monitoring.fleet import Fleet, SourceResult
from monitoring.health import POOL_HOT_PERCENT
from monitoring.models import DefenderAlert, PoolSnapshot, PostureCheck, Source, TenantHealth
from monitoring.rows import update_columns
from monitoring.sources import mark_failed, mark_read
from portal.azure.defender import AlertRow
from portal.azure.inventory import PoolRow
from portal.azure.resource_ids import parse
from tenants.models import Tenant

POOL_METRIC_FIELDS = {
    "cpu_percent": "cpu_percent",
    "storage_percent": "storage_percent",
    "workers_percent": "workers_percent",
    "sessions_percent": "sessions_percent",
    "log_write_percent": "log_write_percent",
}


def apply_source(
    healths: dict[int, TenantHealth], source: str, result: SourceResult, now: datetime
) -> None:
    for pk, values in result.updates.items():
        health = healths[pk]
        for name, value in values.items():
            if not name.startswith("_"):
                setattr(health, name, value)
        mark_read(health, source, now)
    for pk, reason in result.failed.items():
        mark_failed(healths[pk], source, now, reason)


def storage_percent(health: TenantHealth) -> float | None:
    """Data space used as a percentage of the database's maximum size."""
    if health.db_size_bytes is None or not health.db_max_size_bytes:
        return health.db_storage_percent
    return round(100 * health.db_size_bytes / health.db_max_size_bytes, 2)


def hot_since(points: list[tuple[datetime, float]], previous: datetime | None) -> datetime | None:
    """Start of the current spell of CPU above the threshold, from 5-minute points (oldest
    first). A spell running since before the window keeps its earlier start."""
    if not points or points[-1][1] <= POOL_HOT_PERCENT:
        return None
    start = points[-1][0]
    for moment, value in reversed(points):
        if value <= POOL_HOT_PERCENT:
            return start
        start = moment
    return min(start, previous) if previous else start


def _pool_row(pool: PoolSnapshot, row: PoolRow) -> None:
    pool.name, pool.region = row.name, row.location.replace(" ", "").lower()
    pool.sku_name, pool.sku_tier, pool.capacity = row.sku_name, row.sku_tier, row.capacity
    pool.per_database_min, pool.per_database_max = row.per_database_min, row.per_database_max
    pool.max_size_bytes = row.max_size_bytes


def _pool_metrics(pool: PoolSnapshot, series: dict[str, list[tuple[datetime, float]]]) -> None:
    for metric, field in POOL_METRIC_FIELDS.items():
        points = series.get(metric, [])
        setattr(pool, field, round(points[-1][1], 2) if points else None)
    used = series.get("storage_used", [])
    pool.storage_used_bytes = int(used[-1][1]) if used else None
    cpu = series.get("cpu_percent", [])
    pool.recent_cpu = [[m.isoformat(), round(v, 2)] for m, v in cpu]
    pool.cpu_hot_since = hot_since(cpu, pool.cpu_hot_since)


def _new_pool(key: str, tenant_pool_id: str) -> PoolSnapshot:
    ref = parse(tenant_pool_id)
    return PoolSnapshot(
        pool_id=key,
        name=ref.name,
        server_name=ref.name_of("servers"),
        subscription_id=ref.subscription_id,
        resource_group=ref.resource_group,
    )


def apply_pools(
    fleet: Fleet, healths: dict[int, TenantHealth], results: dict[str, SourceResult], now: datetime
) -> dict[str, PoolSnapshot]:
    """Pool rows from the pool list and the pools' metrics; each database's share of its pool."""
    pools = {p.pool_id: p for p in PoolSnapshot.objects.filter(pool_id__in=list(fleet.by_pool))}
    listed = results.get(Source.POOLS)
    metrics = results.get(Source.METRICS)
    series = results.get("series")
    for key, tenants in fleet.by_pool.items():
        pool = pools.get(key) or _new_pool(key, tenants[0].elastic_pool_id)
        pools[key] = pool
        if listed is not None:
            row = listed.extra["pools"].get(key)
            if row is not None:
                _pool_row(pool, row)
                pool.as_of, pool.error = now, ""
            else:
                pool.error = listed.extra["failed"].get(
                    key, "The pool was not found on its server."
                )
                pool.failed_at = now
        if metrics is not None and key in metrics.extra["pools"]:
            _pool_metrics(pool, metrics.extra["pools"][key])
            _shares(pool, tenants, healths, metrics)
        if series is not None and key in series.extra["pools"]:
            pool.series = series.extra["pools"][key]
        pool.tenant_count = len(tenants)
        for tenant in tenants:
            healths[tenant.pk].pool_use_percent = pool.cpu_percent
        pool.save()
    return pools


def _last(points: list[tuple[datetime, float]]) -> float | None:
    return points[-1][1] if points else None


def _shares(
    pool: PoolSnapshot,
    tenants: list[Tenant],
    healths: dict[int, TenantHealth],
    metrics: SourceResult,
) -> None:
    """Each database's share of what the pool's databases use now, noisy neighbours first, from
    the pool's own per-database split (`database_cpu_percent` by DatabaseResourceId: a pooled
    database's percentage is of the per-database limit, the same for every member, so the
    values compare). Shares of the members' sum, so they add up to 100 %; a pool whose split
    could not be read has no shares."""
    split = metrics.extra["pool_split"].get(pool.pool_id, {})
    used = {t.pk: _last(split.get(t.database_id.lower(), [])) for t in tenants}
    total = sum(u for u in used.values() if u)
    shares = []
    for tenant in tenants:
        mine = used[tenant.pk]
        share = round(100 * mine / total, 1) if mine is not None and total else None
        healths[tenant.pk].pool_share_percent = share
        shares.append(
            {
                "database_id": tenant.database_id,
                "database": tenant.database_name,
                "tenant": tenant.slug,
                "cpu_percent": share,
                "storage_bytes": healths[tenant.pk].db_size_bytes,
            }
        )
    shares.sort(key=lambda s: s["cpu_percent"] or 0, reverse=True)
    pool.database_shares = shares


def apply_alerts(
    fleet: Fleet, healths: dict[int, TenantHealth], result: SourceResult, now: datetime
) -> None:
    """Mirror the alerts of every subscription read: update, add, drop the ones Azure no longer
    lists; open alerts counted by severity on each tenant of those subscriptions."""
    read = [t for key in result.extra["subscriptions"] for t in fleet.by_subscription[key]]
    pks = [t.pk for t in read]
    existing = {a.azure_id.lower(): a for a in DefenderAlert.objects.filter(tenant_id__in=pks)}
    before = {key: _snapshot(alert) for key, alert in existing.items()}
    seen: set[str] = set()
    new: list[DefenderAlert] = []
    for tenant_pk, row in result.extra["alerts"]:
        key = row.id.lower()
        seen.add(key)
        alert = existing.get(key)
        if alert is None:
            alert = DefenderAlert(azure_id=row.id, first_seen_at=now)
            new.append(alert)
        _alert_fields(alert, tenant_pk, row, now)
    DefenderAlert.objects.bulk_create(new)
    changed = [a for k, a in existing.items() if k in seen and _snapshot(a) != before[k]]
    update_columns(DefenderAlert, changed, _ALERT_FIELDS)
    DefenderAlert.objects.filter(pk__in=[a.pk for k, a in existing.items() if k in seen]).update(
        last_seen_at=now
    )
    gone = [a.pk for k, a in existing.items() if k not in seen]
    DefenderAlert.objects.filter(pk__in=gone).delete()
    counts: Counter[tuple[int, str]] = Counter(
        (pk, row.severity)
        for pk, row in result.extra["alerts"]
        if row.status in DefenderAlert.OPEN_STATUSES
    )
    for pk in pks:
        health = healths[pk]
        health.alerts_high = counts[(pk, "High")]
        health.alerts_medium = counts[(pk, "Medium")]
        health.alerts_low = counts[(pk, "Low")]
        health.alerts_informational = counts[(pk, "Informational")]


_ALERT_FIELDS = [
    "name", "tenant", "display_name", "alert_type", "severity", "status", "generated_at",
    "description", "remediation", "resource_id", "last_seen_at",
]  # fmt: skip


def _snapshot(alert: DefenderAlert) -> tuple[object, ...]:
    """The fields a refresh may change (last_seen_at is set for all seen alerts in one query)."""
    return tuple(
        getattr(alert, "tenant_id" if name == "tenant" else name)
        for name in _ALERT_FIELDS
        if name != "last_seen_at"
    )


def _alert_fields(alert: DefenderAlert, tenant_pk: int, row: AlertRow, now: datetime) -> None:
    alert.name = row.name[:200]
    alert.tenant_id = tenant_pk
    alert.display_name = row.display_name[:300]
    alert.alert_type = row.alert_type[:200]
    alert.severity = row.severity
    alert.status = row.status
    alert.generated_at = row.generated_at
    alert.description = row.description
    alert.remediation = list(row.remediation)
    alert.resource_id = (row.resource_ids[0] if row.resource_ids else "")[:600]
    alert.last_seen_at = now


def apply_posture(result: SourceResult, now: datetime) -> None:
    """Replace each read tenant's checks with this read's."""
    rows = [
        PostureCheck(
            tenant_id=pk,
            check_name=check.check_name,
            title=check.title,
            expected=check.expected[:300],
            actual=check.actual[:300],
            passed=check.passed,
            read_at=now,
        )
        for pk, values in result.updates.items()
        for check in values["_checks"]
    ]
    PostureCheck.objects.filter(tenant_id__in=list(result.updates)).delete()
    PostureCheck.objects.bulk_create(rows)
