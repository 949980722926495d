"""Factories for the monitoring snapshots (tenants and people come from tests.factories)."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from monitoring.models import (
    DefenderAlert,
    HealthStatus,
    PoolSnapshot,
    PostureCheck,
    StatusChange,
    TenantHealth,
)
from tests.factories import SUBSCRIPTION, TenantFactory

POOL_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourcegroups/rg-fw-data/providers/microsoft.sql"
    "/servers/sql-fw-aue-01/elasticpools/pool-01"
)


def _hourly(value: float) -> list[list[object]]:
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    return [[(now - timedelta(hours=23 - i)).isoformat(), value] for i in range(24)]


class TenantHealthFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TenantHealth
        django_get_or_create = ("tenant",)

    tenant = factory.SubFactory(TenantFactory)
    status = HealthStatus.HEALTHY
    reasons = factory.LazyAttribute(lambda h: [] if h.status == HealthStatus.HEALTHY else ["test"])
    status_since = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=3))
    evaluated_at = factory.LazyFunction(timezone.now)
    as_of = factory.LazyFunction(timezone.now)
    region = "australiaeast"
    # Posture was read (its columns below are set); a test of an unread tenant says so.
    sources = factory.LazyFunction(
        lambda: {"posture": {"as_of": timezone.now().isoformat(), "error": ""}}
    )
    app_state = "Running"
    app_availability = "Available"
    app_https_only = True
    app_min_tls = "1.2"
    app_always_on = True
    app_health_check_path = "/healthz"
    plan_sku = "P1v3"
    plan_instances = 2
    app_requests_24h = 12000
    app_5xx_24h = 3
    app_response_ms = 120.0
    app_series = factory.LazyFunction(lambda: {"Requests": _hourly(500), "Http5xx": _hourly(0)})
    db_status = "Online"
    db_service_objective = "ElasticPool"
    db_size_bytes = 2 * 1024**3
    db_max_size_bytes = 32 * 1024**3
    db_availability = "Available"
    db_cpu_percent = 12.0
    db_storage_percent = 6.25
    db_series = factory.LazyFunction(lambda: {"cpu_percent": _hourly(12.0)})
    pool_name = "pool-01"
    pool_use_percent = 40.0
    pool_share_percent = 8.0
    backup_earliest = factory.LazyFunction(lambda: timezone.now() - timedelta(days=7))
    backup_latest = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=6))
    backup_redundancy = "Geo"
    pitr_days = 7
    ltr_policy = factory.LazyFunction(
        lambda: {"weekly": "P52W", "monthly": "PT0S", "yearly": "PT0S"}
    )
    geo_backup_latest = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=50))
    ai_connected = True
    ai_availability_percent = 100.0


class PoolSnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PoolSnapshot
        django_get_or_create = ("pool_id",)

    pool_id = POOL_ID
    name = "pool-01"
    server_name = "sql-fw-aue-01"
    subscription_id = SUBSCRIPTION
    resource_group = "rg-fw-data"
    region = "australiaeast"
    sku_name = "StandardPool"
    sku_tier = "Standard"
    capacity = 200
    per_database_min = 0
    per_database_max = 50
    max_size_bytes = 200 * 1024**3
    storage_used_bytes = 40 * 1024**3
    cpu_percent = 40.0
    storage_percent = 20.0
    series = factory.LazyFunction(lambda: {"cpu_percent": _hourly(40.0)})
    database_shares = factory.LazyFunction(list)
    as_of = factory.LazyFunction(timezone.now)


class DefenderAlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DefenderAlert
        django_get_or_create = ("azure_id",)

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"2517{n:012d}_alert")
    azure_id = factory.LazyAttribute(
        lambda a: (
            f"/subscriptions/{SUBSCRIPTION}/resourcegroups/rg-fw-{a.tenant.slug}"
            f"/providers/microsoft.security/locations/australiaeast/alerts/{a.name.lower()}"
        )
    )
    display_name = "Potential SQL injection"
    alert_type = "SQL.DB_VulnerabilityToSqlInjection"
    severity = DefenderAlert.Severity.HIGH
    status = DefenderAlert.Status.ACTIVE
    generated_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=2))
    description = "A possible SQL injection was detected."
    remediation = factory.LazyFunction(lambda: ["Review the application's queries."])
    resource_id = factory.LazyAttribute(lambda a: a.tenant.database_id)
    first_seen_at = factory.LazyFunction(timezone.now)
    last_seen_at = factory.LazyFunction(timezone.now)


class PostureCheckFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PostureCheck
        django_get_or_create = ("tenant", "check_name")

    tenant = factory.SubFactory(TenantFactory)
    check_name = "sql_min_tls"
    title = "SQL server minimum TLS 1.2"
    expected = "1.2"
    actual = "1.2"
    passed = True
    read_at = factory.LazyFunction(timezone.now)


class StatusChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StatusChange

    tenant = factory.SubFactory(TenantFactory)
    at = factory.LazyFunction(timezone.now)
    from_status = HealthStatus.HEALTHY
    to_status = HealthStatus.DEGRADED
    reasons = factory.LazyFunction(lambda: ["Pool CPU above 90 % for 30 minutes."])
