"""Azure Monitor metrics: azure-mgmt-monitor's metrics.list and azure-monitor-querymetrics'
MetricsClient (metrics:getBatch) against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.sql import SqlManagementClient
from azure.mgmt.sql.models import Database

from tests.emulator import provider_clients as clients

pytestmark = pytest.mark.integration

SYDNEY = ZoneInfo("Australia/Sydney")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def last_full_week(now: datetime) -> tuple[datetime, datetime]:
    """Monday 00:00 to Saturday 00:00 (Sydney) of the week before last: five whole workdays."""
    local = now.astimezone(SYDNEY).replace(hour=0, minute=0, second=0, microsecond=0)
    monday = local - timedelta(days=local.weekday() + 14)
    return monday, monday + timedelta(days=5)


@pytest.fixture
def tenant(emulator):
    return clients.healthy_tenant(emulator, 2)


@pytest.fixture
def client(emulator, tenant):
    return clients.monitor(emulator, tenant["subscription_id"])


def points(result, name):
    metric = next(m for m in result.value if m.name.value == name)
    return metric.timeseries[0].data


def test_it_honours_metric_names_interval_timespan_and_aggregations(client, tenant):
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    start = end - timedelta(hours=2)

    result = client.metrics.list(
        tenant["site_id"],
        timespan=f"{iso(start)}/{iso(end)}",
        interval="PT15M",
        metricnames="Requests,HttpResponseTime",
        aggregation="Average,Maximum",
    )

    assert result.interval == "PT15M"
    assert result.namespace == "Microsoft.Web/sites"
    assert result.resourceregion == "australiaeast"
    assert [m.name.value for m in result.value] == ["Requests", "HttpResponseTime"]
    assert [m.unit for m in result.value] == ["Count", "Seconds"]
    data = points(result, "Requests")
    assert [d.time_stamp for d in data] == [start + timedelta(minutes=15 * i) for i in range(8)]
    assert all(d.average is not None and d.maximum >= d.average for d in data)
    assert all(d.total is None and d.minimum is None for d in data)


def test_totals_are_whole_request_counts_by_default(client, tenant):
    result = client.metrics.list(
        tenant["site_id"], timespan="PT3H", interval="PT1H", metricnames="Requests"
    )

    data = points(result, "Requests")
    assert len(data) in (3, 4)  # a window that is not on the hour touches a fourth hour
    assert all(d.total is not None and d.total == int(d.total) for d in data)
    assert all(d.average is None for d in data)


def test_business_hours_in_sydney_are_busier_than_the_night(client, tenant):
    start, end = last_full_week(datetime.now(UTC))

    result = client.metrics.list(
        tenant["database_id"],
        timespan=f"{iso(start)}/{iso(end)}",
        interval="PT1H",
        metricnames="cpu_percent",
        aggregation="Average",
    )
    requests = client.metrics.list(
        tenant["site_id"],
        timespan=f"{iso(start)}/{iso(end)}",
        interval="PT1H",
        metricnames="Requests",
    )

    def by_local_hour(data, hours, field):
        values = [
            getattr(d, field)
            for d in data
            if d.time_stamp.astimezone(SYDNEY).hour in hours and getattr(d, field) is not None
        ]
        assert len(values) == 5 * len(hours)
        return sum(values) / len(values)

    cpu = points(result, "cpu_percent")
    assert (
        by_local_hour(cpu, (12, 13, 14), "average") > by_local_hour(cpu, (2, 3, 4), "average") + 2
    )
    served = points(requests, "Requests")
    assert by_local_hour(served, (12, 13, 14), "total") > 3 * by_local_hour(
        served, (2, 3, 4), "total"
    )


def test_the_same_query_gives_the_same_values(client, tenant):
    start, _ = last_full_week(datetime.now(UTC))
    span = f"{iso(start)}/{iso(start + timedelta(hours=6))}"

    def query():
        result = client.metrics.list(
            tenant["elastic_pool_id"], timespan=span, interval="PT30M",
            metricnames="cpu_percent,storage_used", aggregation="Average,Minimum",
        )  # fmt: skip
        return [
            (m.name.value, [(d.average, d.minimum) for d in m.timeseries[0].data])
            for m in result.value
        ]

    first = query()
    assert first == query()
    assert len(first[0][1]) == 12


def test_an_unhealthy_site_shows_server_errors_and_failing_health_checks(emulator, client):
    sick = clients.tenant_with(emulator, "unhealthy_site")
    well = clients.healthy_tenant(emulator, 0)
    sick_client = clients.monitor(emulator, sick["subscription_id"])

    def last_minutes(c, site_id):
        result = c.metrics.list(
            site_id,
            timespan="PT5M",
            interval="PT5M",
            metricnames="Requests,Http5xx,HealthCheckStatus",
            aggregation="Total,Average",
        )
        totals = {
            m.name.value: sum((d.total or 0) for d in m.timeseries[0].data) for m in result.value
        }
        health = [d.average for d in points(result, "HealthCheckStatus") if d.average is not None]
        return totals, health

    sick_totals, sick_health = last_minutes(sick_client, sick["site_id"])
    well_totals, well_health = last_minutes(
        clients.monitor(emulator, well["subscription_id"]), well["site_id"]
    )

    assert sick_totals["Http5xx"] > 0.05 * sick_totals["Requests"] > 0
    assert well_totals["Http5xx"] < 0.01 * well_totals["Requests"]
    assert sick_health and max(sick_health) < 90
    assert well_health and min(well_health) == 100


def test_a_stopped_site_serves_no_requests_from_the_moment_it_stopped(emulator, tenant):
    web = clients.web(emulator, tenant["subscription_id"])
    metrics = clients.monitor(emulator, tenant["subscription_id"])
    web.web_apps.stop(tenant["resource_group"], tenant["site_name"])
    try:
        emulator.control("POST", "clock", {"advance_seconds": 1800})
        result = metrics.metrics.list(
            tenant["site_id"],
            timespan="PT20M",
            interval="PT5M",
            metricnames="Requests,HttpResponseTime",
            aggregation="Total,Average",
        )
        before = metrics.metrics.list(
            tenant["site_id"],
            timespan=f"{iso(datetime.now(UTC) - timedelta(hours=2))}/{iso(datetime.now(UTC) - timedelta(hours=1))}",
            interval="PT1H",
            metricnames="Requests",
        )
    finally:
        emulator.control("POST", "clock", {"offset_seconds": 0})
        web.web_apps.start(tenant["resource_group"], tenant["site_name"])

    assert [d.total for d in points(result, "Requests")] == [0.0] * len(points(result, "Requests"))
    assert all(d.average is None for d in points(result, "HttpResponseTime"))
    assert sum(d.total or 0 for d in points(before, "Requests")) > 0


def test_pool_and_plan_metrics_follow_their_capacity(emulator, client, tenant):
    pool = client.metrics.list(
        tenant["elastic_pool_id"],
        timespan="PT1H",
        interval="PT15M",
        metricnames="cpu_percent,storage_percent,storage_limit,sessions_count",
        aggregation="Average",
    )
    plan = client.metrics.list(
        tenant["plan_id"],
        timespan="PT1H",
        interval="PT15M",
        metricnames="CpuPercentage,MemoryPercentage",
    )

    limits = {d.average for d in points(pool, "storage_limit") if d.average is not None}
    pool_body = emulator.control("GET", f"resource?id={tenant['elastic_pool_id']}")
    assert limits == {float(pool_body["properties"]["maxSizeBytes"])}
    assert all(0 <= d.average <= 100 for d in points(pool, "cpu_percent") if d.average is not None)
    assert all(0 < d.average <= 100 for d in points(plan, "CpuPercentage") if d.average is not None)


def test_an_unknown_metric_is_refused_with_the_valid_names(client, tenant):
    with pytest.raises(HttpResponseError) as caught:
        client.metrics.list(tenant["database_id"], metricnames="cpu_percent,made_up")

    assert caught.value.status_code == 400
    assert "Failed to find metric configuration for provider: microsoft.sql" in caught.value.message
    assert "metric: made_up" in caught.value.message
    assert "dtu_consumption_percent" in caught.value.message


def test_an_unsupported_interval_is_refused(client, tenant):
    with pytest.raises(HttpResponseError) as caught:
        client.metrics.list(tenant["site_id"], interval="PT2M", metricnames="Requests")

    assert caught.value.status_code == 400
    assert "PT2M" in caught.value.message


def test_metrics_of_a_missing_resource_are_404(client, tenant):
    with pytest.raises(ResourceNotFoundError):
        client.metrics.list(tenant["site_id"] + "-gone", metricnames="Requests")


def test_metric_definitions_list_the_catalogue(client, tenant):
    names = {d.name.value for d in client.metric_definitions.list(tenant["elastic_pool_id"])}

    assert {"cpu_percent", "eDTU_used", "storage_used", "workers_percent"} <= names


def test_metrics_report_a_regional_outage(emulator, client, tenant):
    with clients.regional_outage(emulator):
        emulator.control("POST", "clock", {"advance_seconds": 900})
        try:
            result = client.metrics.list(
                tenant["site_id"],
                timespan="PT10M",
                interval="PT5M",
                metricnames="Requests,Http5xx,HealthCheckStatus",
                aggregation="Total,Average",
            )
        finally:
            emulator.control("POST", "clock", {"offset_seconds": 0})

    assert sum(d.total or 0 for d in points(result, "Requests")) == 0
    assert sum(d.total or 0 for d in points(result, "Http5xx")) > 0
    assert all(d.average is None for d in points(result, "HealthCheckStatus"))


# -- metrics:getBatch --------------------------------------------------------------------------


def test_the_batch_api_answers_for_many_pools_at_once(emulator, tenant):
    pools = sorted(
        {
            t["elastic_pool_id"]
            for t in emulator.tenants
            if t["subscription_id"] == tenant["subscription_id"]
        }
    )
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    start = end - timedelta(hours=1)

    results = clients.metrics_batch(emulator).query_resources(
        resource_ids=pools,
        metric_namespace="Microsoft.Sql/servers/elasticPools",
        metric_names=["cpu_percent", "storage_percent"],
        timespan=(start, end),
        granularity=timedelta(minutes=15),
        aggregations=["Average"],
    )

    assert len(results) == len(pools)
    assert all(r.resource_region == "australiaeast" for r in results)
    assert all(r.granularity == timedelta(minutes=15) for r in results)
    # The batch API and ARM's per-resource API read the same curves.
    arm = clients.monitor(emulator, tenant["subscription_id"]).metrics.list(
        pools[0], timespan=f"{iso(start)}/{iso(end)}", interval="PT15M",
        metricnames="cpu_percent", aggregation="Average",
    )  # fmt: skip
    batch_cpu = [d.average for d in results[0].metrics["cpu_percent"].timeseries[0].data]
    assert batch_cpu == [d.average for d in points(arm, "cpu_percent")]
    assert len(batch_cpu) == 4


def test_the_batch_api_refuses_more_than_50_resources(emulator, tenant):
    server = tenant["sql_server_id"]
    ids = [f"{server}/databases/db-made-up-{i}" for i in range(51)]

    with pytest.raises(HttpResponseError) as caught:
        clients.metrics_batch(emulator).query_resources(
            resource_ids=ids,
            metric_namespace="Microsoft.Sql/servers/databases",
            metric_names=["cpu_percent"],
        )

    assert caught.value.status_code == 400
    assert "at most 50" in caught.value.message


def test_the_batch_api_refuses_mixed_resource_types(emulator, tenant):
    with pytest.raises(HttpResponseError) as caught:
        clients.metrics_batch(emulator).query_resources(
            resource_ids=[tenant["database_id"], tenant["site_id"]],
            metric_namespace="Microsoft.Sql/servers/databases",
            metric_names=["cpu_percent"],
        )

    assert caught.value.status_code == 400
    assert "Microsoft.Web/sites" in caught.value.message


def test_the_batch_api_refuses_resources_of_another_subscription(emulator, tenant):
    other = next(t for t in emulator.tenants if t["subscription_id"] != tenant["subscription_id"])
    with pytest.raises(HttpResponseError) as caught:
        clients.metrics_batch(emulator).query_resources(
            resource_ids=[tenant["database_id"], other["database_id"]],
            metric_namespace="Microsoft.Sql/servers/databases",
            metric_names=["cpu_percent"],
        )

    assert caught.value.status_code == 400


def test_the_batch_api_wants_a_token_for_the_metrics_audience(emulator, tenant):
    url = (
        f"{emulator.demo['metrics_endpoint']}/subscriptions/{tenant['subscription_id']}/metrics:getBatch"
        "?api-version=2024-02-01&metricnamespace=Microsoft.Sql/servers/databases&metricnames=cpu_percent"
    )
    body = {"resourceids": [tenant["database_id"]]}

    arm_token = clients.raw(emulator, "POST", url, json=body)
    metrics_token = clients.raw(
        emulator, "POST", url, json=body, audience="https://metrics.monitor.azure.com"
    )

    assert arm_token.status_code == 401
    assert metrics_token.status_code == 200
    assert metrics_token.json()["values"][0]["resourceid"] == tenant["database_id"]


def test_the_batch_api_refuses_resources_in_different_regions(emulator, tenant):
    sql = SqlManagementClient(
        emulator.credential(), tenant["subscription_id"], **clients.arm_kwargs(emulator)
    )
    geo_group = tenant["geo_server_id"].split("/")[4]
    geo = sql.databases.begin_create_or_update(
        geo_group,
        tenant["geo_server_name"],
        "db-region-check",
        Database(location="australiasoutheast"),
    ).result()
    try:
        with pytest.raises(HttpResponseError) as caught:
            clients.metrics_batch(emulator).query_resources(
                resource_ids=[tenant["database_id"], geo.id],
                metric_namespace="Microsoft.Sql/servers/databases",
                metric_names=["cpu_percent"],
            )
    finally:
        sql.databases.begin_delete(geo_group, tenant["geo_server_name"], "db-region-check").result()

    assert caught.value.status_code == 400
    assert "same region" in caught.value.message
