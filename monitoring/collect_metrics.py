"""Azure Monitor metrics for the fleet through the batch API: the latest 5-minute values for
databases and pools on every hot refresh, 24 h at hourly grain for databases, pools and sites
once an hour (an hourly series only changes once an hour)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from monitoring.fleet import Fleet, SourceResult
from portal.azure.batch_metrics import BatchResult, Series, metrics_batch

DATABASE = "Microsoft.Sql/servers/databases"
POOL = "Microsoft.Sql/servers/elasticPools"
SITE = "Microsoft.Web/sites"

SQL_METRICS = {
    "cpu_percent": "Average",
    "storage_percent": "Average",
    "workers_percent": "Average",
    "sessions_percent": "Average",
    "log_write_percent": "Average",
}
DB_METRICS = {**SQL_METRICS, "storage": "Maximum"}
# Every few minutes only the latest 5-minute CPU and storage of each database (the pool shares
# and storage percentage follow from them); the rest comes with the hourly series.
DB_LATEST_METRICS = {"cpu_percent": "Average", "storage": "Maximum"}
LATEST = timedelta(minutes=5)
POOL_METRICS = {**SQL_METRICS, "storage_used": "Average"}
SITE_METRICS = {"Requests": "Total", "Http5xx": "Total", "HttpResponseTime": "Average"}
RECENT = timedelta(minutes=40)
FIVE_MINUTES = timedelta(minutes=5)


def _grouped(items: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str], list[str]]:
    """Resource ids by (subscription, region): the batch API wants one of each per call."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for subscription, region, resource_id in items:
        groups[(subscription.lower(), region.lower())].append(resource_id)
    return groups


def _batch(
    groups: Mapping[tuple[str, str], list[str]],
    namespace: str,
    metrics: Mapping[str, str],
    timespan: tuple[datetime, datetime],
    grain: timedelta,
    split: str | None = None,
) -> BatchResult:
    total = BatchResult(series={}, failed={})
    for ids in groups.values():
        part = metrics_batch(
            ids, namespace=namespace, metrics=metrics, timespan=timespan, grain=grain, split=split
        )
        total.series.update(part.series)
        total.failed.update(part.failed)
    return total


def _latest(points: Series) -> float | None:
    return points[-1][1] if points else None


def _pool_groups(fleet: Fleet) -> dict[tuple[str, str], list[str]]:
    return _grouped(
        (group[0].subscription_id, group[0].region, group[0].elastic_pool_id)
        for group in fleet.by_pool.values()
    )


def read_latest(fleet: Fleet, now: datetime) -> SourceResult:
    """Latest 5-minute values per database (extra["pools"]: the pools' recent 5-minute points)."""
    result = SourceResult(extra={"pools": {}, "pools_failed": {}})
    db_groups = _grouped((t.subscription_id, t.region, t.database_id) for t in fleet.tenants)
    databases = _batch(db_groups, DATABASE, DB_LATEST_METRICS, (now - LATEST, now), FIVE_MINUTES)
    for tenant in fleet.tenants:
        key = tenant.database_id.lower()
        if key in databases.failed:
            result.fail([tenant], f"Database metrics failed: {databases.failed[key]}")
            continue
        series = databases.series.get(key, {})
        result.set(
            tenant,
            db_cpu_percent=_latest(series.get("cpu_percent", [])),
            db_size_bytes=_int(_latest(series.get("storage", []))),
        )
    pools = _batch(_pool_groups(fleet), POOL, POOL_METRICS, (now - RECENT, now), FIVE_MINUTES)
    result.extra["pools"] = pools.series
    result.extra["pools_failed"] = pools.failed
    # Each database's part of its pool's use, as the pool reports it (Azure Monitor splits a
    # pool's database_* metrics by the DatabaseResourceId dimension): {pool: {database: points}}.
    split = _batch(
        _pool_groups(fleet), POOL, {"database_cpu_percent": "Average"},
        (now - LATEST, now), FIVE_MINUTES, split="DatabaseResourceId",
    )  # fmt: skip
    result.extra["pool_split"] = split.series
    result.extra["pool_split_failed"] = split.failed
    return result


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _as_json(points: Series) -> list[list[object]]:
    return [[moment.isoformat(), round(value, 3)] for moment, value in points]


def read_series(fleet: Fleet, now: datetime) -> SourceResult:
    """24 h hourly series for each tenant's database and site (extra["pools"]: the pools')."""
    result = SourceResult(extra={})
    end = now.replace(minute=0, second=0, microsecond=0)
    span = (end - timedelta(hours=24), end)
    hour = timedelta(hours=1)
    db_groups = _grouped((t.subscription_id, t.region, t.database_id) for t in fleet.tenants)
    site_groups = _grouped(
        (t.subscription_id, t.region, t.app_service_site_id) for t in fleet.tenants
    )
    databases = _batch(db_groups, DATABASE, DB_METRICS, span, hour)
    sites = _batch(site_groups, SITE, SITE_METRICS, span, hour)
    for tenant in fleet.tenants:
        db_key, site_key = tenant.database_id.lower(), tenant.app_service_site_id.lower()
        failed = databases.failed.get(db_key) or sites.failed.get(site_key)
        if failed:
            result.fail([tenant], f"24 h metrics failed: {failed}")
            continue
        db = databases.series.get(db_key, {})
        site = sites.series.get(site_key, {})
        response = [v for _, v in site.get("HttpResponseTime", [])]
        result.set(
            tenant,
            db_series={name: _as_json(points) for name, points in db.items()},
            db_workers_percent=_latest(db.get("workers_percent", [])),
            db_sessions_percent=_latest(db.get("sessions_percent", [])),
            db_log_write_percent=_latest(db.get("log_write_percent", [])),
            app_series={name: _as_json(points) for name, points in site.items()},
            app_requests_24h=int(sum(v for _, v in site.get("Requests", []))),
            app_5xx_24h=int(sum(v for _, v in site.get("Http5xx", []))),
            app_response_ms=round(1000 * sum(response) / len(response), 1) if response else None,
        )
    pools = _batch(_pool_groups(fleet), POOL, POOL_METRICS, span, hour)
    result.extra["pools"] = {
        key: {name: _as_json(points) for name, points in series.items()}
        for key, series in pools.series.items()
    }
    return result


COMPONENT = "microsoft.insights/components"
COMPONENT_METRICS = {
    "availabilityResults/availabilityPercentage": "Average",
    "requests/failed": "Total",
    "exceptions/count": "Total",
    "requests/duration": "Average",
}


def read_app_insights(fleet: Fleet, now: datetime) -> SourceResult:
    """Each tenant's Application Insights component over 24 h, hourly: availability-test
    results, failed requests, exceptions and server response time."""
    result = SourceResult()
    # Up to now, the current hour partly: availability must show a failure that began minutes ago.
    span = (now - timedelta(hours=24), now)
    tenants = [t for t in fleet.tenants if t.app_insights_id]
    groups = _grouped((t.subscription_id, t.region, t.app_insights_id) for t in tenants)
    found = _batch(groups, COMPONENT, COMPONENT_METRICS, span, timedelta(hours=1))
    for tenant in tenants:
        key = tenant.app_insights_id.lower()
        if key in found.failed:
            result.fail([tenant], f"Application Insights metrics failed: {found.failed[key]}")
            continue
        series = found.series.get(key, {})
        availability = [v for _, v in series.get("availabilityResults/availabilityPercentage", [])]
        duration = [v for _, v in series.get("requests/duration", [])]
        result.set(
            tenant,
            ai_series={name: _as_json(points) for name, points in series.items()},
            ai_availability_percent=(
                round(sum(availability) / len(availability), 2) if availability else None
            ),
            ai_failed_requests_24h=int(sum(v for _, v in series.get("requests/failed", []))),
            ai_exceptions_24h=int(sum(v for _, v in series.get("exceptions/count", []))),
            ai_server_response_ms=round(sum(duration) / len(duration), 1) if duration else None,
        )
    return result
