"""Scaling calls: App Service plan SKU and instance count, elastic pool capacity and per-database
limits, and moving a database between pools or out to a single-database service objective
(docs/azure-behaviours.md).

Each change is an ARM long-running operation: `*_begin` returns a continuation token without
waiting, `*_wait` polls it for a bounded time from any process (lro.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from azure.core.polling import LROPoller
from azure.mgmt.sql import models as sql_models
from azure.mgmt.web import models as web_models

from portal.azure import lro, sql_patch
from portal.azure.clients import azure_clients
from portal.azure.errors import azure_errors
from portal.azure.lro import LroOutcome
from portal.azure.resource_ids import parse
from portal.azure.sql import DATABASE, POOL

PLAN = "Microsoft.Web/serverfarms"


@dataclass(frozen=True)
class PlanInfo:
    id: str
    name: str
    location: str
    sku_name: str
    sku_tier: str
    # Instances (workers) the plan runs now, and the most its tier allows.
    capacity: int
    maximum_capacity: int | None
    status: str
    # Every site on the plan (ids): a shared plan scales all of them.
    site_ids: tuple[str, ...]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value.value) if isinstance(value, Enum) else str(value)


# -- App Service plans -------------------------------------------------------------------------------


def plan_get(plan_id: str) -> PlanInfo:
    ref = parse(plan_id, expect=PLAN)
    client = azure_clients().web(ref.subscription_id)
    with azure_errors():
        plan = client.app_service_plans.get(ref.resource_group, ref.name)
        sites = [
            str(s.id) for s in client.app_service_plans.list_web_apps(ref.resource_group, ref.name)
        ]
    sku = plan.sku
    return PlanInfo(
        id=str(plan.id),
        name=str(plan.name),
        location=str(plan.location),
        sku_name=str(sku.name) if sku else "",
        sku_tier=str(sku.tier) if sku else "",
        capacity=int(sku.capacity or 1) if sku else 1,
        maximum_capacity=plan.maximum_number_of_workers,
        status=_text(plan.status),
        site_ids=tuple(sorted(sites)),
    )


def plan_scale_begin(plan_id: str, *, sku_name: str, capacity: int) -> str:
    """Scale the plan up (SKU) and out (instances). A PUT of the plan with the new sku: the
    PATCH model has no sku. Returns the continuation token."""
    ref = parse(plan_id, expect=PLAN)
    client = azure_clients().web(ref.subscription_id)
    with azure_errors():
        plan = client.app_service_plans.get(ref.resource_group, ref.name)
    body = web_models.AppServicePlan(
        location=plan.location,
        kind=plan.kind,
        tags=dict(plan.tags or {}),
        sku=web_models.SkuDescription(name=sku_name, capacity=capacity),
        properties=web_models.AppServicePlanProperties(reserved=bool(plan.reserved)),
    )

    def start(polling: Any) -> LROPoller[Any]:
        return client.app_service_plans.begin_create_or_update(
            ref.resource_group, ref.name, body, polling=polling
        )

    return lro.begin(start)


def plan_scale_wait(plan_id: str, continuation_token: str, *, timeout_seconds: float) -> LroOutcome:
    ref = parse(plan_id, expect=PLAN)
    client = azure_clients().web(ref.subscription_id)

    def resume(polling: Any, token: str) -> LROPoller[Any]:
        return client.app_service_plans.begin_create_or_update(
            ref.resource_group,
            ref.name,
            web_models.AppServicePlan(location=""),
            polling=polling,
            continuation_token=token,
        )

    return lro.wait(resume, continuation_token, timeout_seconds=timeout_seconds)


# -- elastic pools -----------------------------------------------------------------------------------


def pool_update_begin(
    pool_id: str,
    *,
    capacity: int | None = None,
    per_database_min: float | None = None,
    per_database_max: float | None = None,
) -> str:
    """Change the pool's capacity (eDTU or vCores, same SKU) and/or its per-database min/max.
    Azure validates the combination (docs/azure-behaviours.md). Returns the continuation token."""
    ref = parse(pool_id, expect=POOL)
    client = azure_clients().sql(ref.subscription_id)
    with azure_errors():
        pool = client.elastic_pools.get(ref.resource_group, ref.name_of("servers"), ref.name)
    body: dict[str, Any] = {"properties": {}}
    if capacity is not None and pool.sku is not None:
        body["sku"] = {"name": pool.sku.name, "tier": pool.sku.tier, "capacity": capacity}
        if pool.sku.family:
            body["sku"]["family"] = pool.sku.family
    if per_database_min is not None or per_database_max is not None:
        current = (pool.properties.per_database_settings if pool.properties else None) or (
            sql_models.ElasticPoolPerDatabaseSettings()
        )
        body["properties"]["perDatabaseSettings"] = {
            "minCapacity": per_database_min
            if per_database_min is not None
            else current.min_capacity,
            "maxCapacity": per_database_max
            if per_database_max is not None
            else current.max_capacity,
        }

    return sql_patch.patch_begin(pool_id, body)


def pool_update_wait(
    pool_id: str, continuation_token: str, *, timeout_seconds: float
) -> LroOutcome:
    return sql_patch.patch_wait(pool_id, continuation_token, timeout_seconds=timeout_seconds)


# -- database placement ------------------------------------------------------------------------------


def database_move_begin(
    database_id: str,
    *,
    elastic_pool_id: str | None = None,
    sku_name: str | None = None,
    sku_tier: str | None = None,
    capacity: int | None = None,
) -> str:
    """Move the database into `elastic_pool_id` (same server), or out of its pool to the single
    database SKU `sku_name` (e.g. "S3", or "GP_Gen5" with `capacity`). Exactly one of the two.
    Poll with tde.database_update_wait (any database PATCH). Returns the continuation token."""
    if (elastic_pool_id is None) == (sku_name is None):
        raise ValueError("Give either elastic_pool_id or sku_name")
    parse(database_id, expect=DATABASE)  # a clear error for anything else
    body: dict[str, Any]
    if elastic_pool_id is not None:
        body = {"sku": {"name": "ElasticPool"}, "properties": {"elasticPoolId": elastic_pool_id}}
    else:
        sku: dict[str, Any] = {"name": sku_name}
        if sku_tier:
            sku["tier"] = sku_tier
        if capacity is not None:
            sku["capacity"] = capacity
        # A raw body, so that `elasticPoolId: null` goes on the wire: the SDK model omits None.
        body = {"sku": sku, "properties": {"elasticPoolId": None}}

    return sql_patch.patch_begin(database_id, body)


# -- the numbers that justify a change ---------------------------------------------------------------


def metric_peak(resource_id: str, metric: str, *, hours: int = 24) -> float | None:
    """The highest hourly Maximum of `metric` over the last `hours`, or None without data
    (plans: CpuPercentage, MemoryPercentage; pools: eDTU_used, cpu_used, storage_used; databases:
    storage, dtu_consumption_percent). One ARM read: fine at plan time."""
    subscription = parse(resource_id).subscription_id
    end = datetime.now(UTC)
    start = end - timedelta(hours=hours)
    client = azure_clients().monitor(subscription)
    with azure_errors():
        result = client.metrics.list(
            resource_id,
            timespan=f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}",
            interval="PT1H",
            metricnames=metric,
            aggregation="Maximum",
        )
    values = [
        float(point.maximum)
        for series_metric in result.value or []
        for series in series_metric.timeseries or []
        for point in series.data or []
        if point.maximum is not None
    ]
    return max(values) if values else None
