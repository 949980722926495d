from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from monitoring.models import HealthStatus
from monitoring.selectors import (
    alert_for_user,
    alerts_for_user,
    fleet_counts,
    fleet_for_user,
    health_status_q,
    pools_for_user,
    posture_failures_for_user,
    tenant_snapshot,
)
from portal.models import StaffProfile
from tests.factories import TenantFactory
from tests.monitoring.factories import (
    DefenderAlertFactory,
    PoolSnapshotFactory,
    PostureCheckFactory,
    StatusChangeFactory,
    TenantHealthFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def limited_manager(account_manager):
    StaffProfile.objects.create(user=account_manager, only_assigned_tenants=True)
    return account_manager


def test_the_fleet_costs_one_query_however_many_tenants(support, django_assert_num_queries):
    for n in range(30):
        TenantHealthFactory(tenant=TenantFactory(slug=f"fleet-{n:02d}"))
    TenantFactory(slug="never-refreshed")
    list(fleet_for_user(support))  # the person's permissions and profile are cached after this
    with django_assert_num_queries(1):
        rows = [(t.slug, getattr(t, "health", None)) for t in fleet_for_user(support)]
    assert len(rows) == 31
    assert dict(rows)["never-refreshed"] is None


def test_a_limited_account_manager_sees_only_assigned_tenants_in_the_fleet(limited_manager):
    mine = TenantHealthFactory(tenant=TenantFactory(account_manager=limited_manager)).tenant
    TenantHealthFactory(tenant=TenantFactory())
    assert [t.slug for t in fleet_for_user(limited_manager)] == [mine.slug]


def test_an_outsider_sees_no_fleet_and_is_refused_a_tenant(outsider):
    tenant = TenantHealthFactory().tenant
    assert list(fleet_for_user(outsider)) == []
    with pytest.raises(PermissionDenied):
        tenant_snapshot(outsider, tenant.slug)


def test_counts_put_never_refreshed_tenants_under_unknown(support):
    TenantHealthFactory(status=HealthStatus.DOWN)
    TenantHealthFactory(status=HealthStatus.HEALTHY)
    TenantHealthFactory(status=HealthStatus.UNKNOWN)
    TenantFactory()
    counts = fleet_counts(support)
    assert counts == {"total": 4, "healthy": 1, "degraded": 0, "down": 1, "unknown": 2}
    unknown = fleet_for_user(support).filter(health_status_q(HealthStatus.UNKNOWN))
    assert unknown.count() == 2


def test_a_tenant_snapshot_brings_its_pool_alerts_posture_and_timeline(support):
    health = TenantHealthFactory()
    PoolSnapshotFactory(pool_id=health.tenant.elastic_pool_id.lower())
    DefenderAlertFactory(tenant=health.tenant)
    PostureCheckFactory(tenant=health.tenant, passed=False, actual="1.0")
    StatusChangeFactory(tenant=health.tenant)
    snapshot = tenant_snapshot(support, health.tenant.slug)
    assert snapshot.health == health
    assert snapshot.pool is not None
    assert len(snapshot.alerts) == 1
    assert [c.passed for c in snapshot.posture] == [False]
    assert len(snapshot.status_changes) == 1


def test_a_hidden_tenant_snapshot_alert_and_pool_are_not_found(limited_manager):
    other = TenantHealthFactory().tenant
    PoolSnapshotFactory(pool_id=other.elastic_pool_id.lower())
    alert = DefenderAlertFactory(tenant=other)
    PostureCheckFactory(tenant=other, passed=False)
    with pytest.raises(Http404):
        tenant_snapshot(limited_manager, other.slug)
    with pytest.raises(Http404):
        alert_for_user(limited_manager, alert.pk)
    assert list(alerts_for_user(limited_manager)) == []
    assert list(pools_for_user(limited_manager)) == []
    assert list(posture_failures_for_user(limited_manager)) == []


def test_pools_are_matched_to_tenants_whatever_the_id_casing(limited_manager):
    mine = TenantFactory(account_manager=limited_manager)
    pool = PoolSnapshotFactory(pool_id=mine.elastic_pool_id.lower())
    assert list(pools_for_user(limited_manager)) == [pool]


def test_only_failed_checks_are_listed_as_posture_failures(support):
    tenant = TenantFactory()
    PostureCheckFactory(tenant=tenant, check_name="app_https_only", passed=True)
    failed = PostureCheckFactory(tenant=tenant, check_name="sql_min_tls", passed=False)
    assert list(posture_failures_for_user(support)) == [failed]
