"""The hot refresh through the SDKs against the emulator: statuses from subscription- and
server-scope lists, and what a failing source, a 429 storm or a regional outage leaves."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitoring.models import DefenderAlert, HealthStatus, PoolSnapshot, RefreshRun, TenantHealth
from monitoring.services import fleet_refresh
from tests.monitoring.conftest import seeded

pytestmark = pytest.mark.django_db


def _health(slug: str) -> TenantHealth:
    return TenantHealth.objects.get(tenant__slug=slug)


def test_one_hot_refresh_gives_every_tenant_a_status_with_few_calls(azure_emulator, fleet, control):
    run = fleet_refresh(kind=RefreshRun.Kind.HOT)

    healths = list(TenantHealth.objects.all())
    assert len(healths) == len(fleet)
    assert all(h.status != HealthStatus.UNKNOWN for h in healths), [h.reasons for h in healths]
    assert run.errors == {}
    # Lists per subscription and server, metrics in batches: not one call per tenant per source.
    subscriptions = len({t.subscription_id for t in fleet})
    servers = len({t.sql_server_id for t in fleet})
    assert run.azure_calls <= 6 * subscriptions + 2 * servers + 4
    healthy = next(h for h in healths if h.status == HealthStatus.HEALTHY)
    assert healthy.app_state == "Running" and healthy.db_status == "Online"
    assert healthy.db_cpu_percent is not None and healthy.backup_earliest is not None
    assert healthy.as_of is not None


def test_a_tenant_whose_app_the_emulator_stops_turns_down_within_one_refresh(
    azure_emulator, fleet, control
):
    tenant = next(t for t in azure_emulator.tenants if "stopped_site" not in t["seeded_issues"])
    fleet_refresh(kind=RefreshRun.Kind.HOT)
    before = _health(tenant["slug"]).status

    control("POST", "sites/state", {"site_id": tenant["site_id"], "state": "Stopped"})
    fleet_refresh(kind=RefreshRun.Kind.HOT)

    after = _health(tenant["slug"])
    assert after.status == HealthStatus.DOWN
    assert after.reasons[0] == "The app is stopped."
    change = after.tenant.status_changes.order_by("-at").first()
    assert change is not None and change.from_status == before and change.to_status == "down"


def test_a_seeded_failing_app_is_degraded_with_resource_healths_reason(
    azure_emulator, fleet, control
):
    fleet_refresh(kind=RefreshRun.Kind.HOT)

    failing = _health(seeded(azure_emulator, "unhealthy_site")["slug"])
    assert failing.app_availability == "Degraded"
    assert failing.status in (HealthStatus.DEGRADED, HealthStatus.DOWN)
    assert any("Resource Health reports the app degraded" in r for r in failing.reasons)


def test_one_failing_source_marks_only_that_part_unavailable_and_keeps_the_last_good_value(
    azure_emulator, fleet, control
):
    fleet_refresh(kind=RefreshRun.Kind.HOT)
    slug = fleet[0].slug
    good = _health(slug)

    control(
        "POST",
        "faults/fail-next",
        {"operation": "databases.list_by_server", "count": 50, "status": 400, "code": "Broken",
         "message": "The database list is broken."},
    )  # fmt: skip
    run = fleet_refresh(kind=RefreshRun.Kind.HOT)

    health = _health(slug)
    assert "databases" in run.errors
    assert "The database list is broken." in health.sources["databases"]["error"]
    assert health.sources["databases"]["as_of"] == good.sources["databases"]["as_of"]
    assert health.db_status == good.db_status == "Online"
    assert health.sources["apps"]["error"] == ""
    assert health.sources["apps"]["as_of"] > good.sources["apps"]["as_of"]
    # Within two refresh intervals the last good value still counts.
    assert health.status == good.status


def test_a_source_failing_for_longer_than_two_intervals_makes_the_tenant_unknown(
    azure_emulator, fleet, control, settings
):
    fleet_refresh(kind=RefreshRun.Kind.HOT)
    health = _health(fleet[0].slug)
    old = health.evaluated_at - timedelta(seconds=3 * settings.MONITORING_HOT_INTERVAL_SECONDS)
    health.sources = {**health.sources, "databases": {"as_of": old.isoformat(), "error": ""}}
    health.save()

    control("POST", "faults/fail-next", {"operation": "databases.list_by_server", "count": 50,
                                         "status": 400, "code": "Broken", "message": "Broken."})  # fmt: skip
    fleet_refresh(kind=RefreshRun.Kind.HOT)

    health = _health(fleet[0].slug)
    assert health.status == HealthStatus.UNKNOWN
    assert health.reasons[0].startswith("SQL databases: no fresh data since")
    assert "Broken." in health.reasons[0]


def test_a_429_storm_is_ridden_out_by_honouring_retry_after(azure_emulator, fleet, control):
    control("POST", "throttle", {"reads": {"size": 3, "refill_per_second": 4}, "reset": True})

    run = fleet_refresh(kind=RefreshRun.Kind.HOT)

    assert run.throttled > 0
    assert run.errors == {}
    assert not TenantHealth.objects.filter(status=HealthStatus.UNKNOWN).exists()


def test_a_regional_outage_shows_as_down_from_resource_health_while_lists_fail(
    azure_emulator, fleet, control
):
    fleet_refresh(kind=RefreshRun.Kind.HOT)
    control("POST", "faults/outage", {"region": "australiaeast", "active": True})

    run = fleet_refresh(kind=RefreshRun.Kind.HOT)

    assert "databases" in run.errors
    health = _health(fleet[0].slug)
    assert health.status == HealthStatus.DOWN
    assert health.db_availability == "Unavailable"
    assert health.sources["databases"]["error"]
    assert health.db_status == "Online"  # the last good value, marked unavailable


def test_defender_alerts_are_mirrored_and_counted_by_severity(azure_emulator, fleet, control):
    fleet_refresh(kind=RefreshRun.Kind.HOT)

    alerts = DefenderAlert.objects.exclude(tenant=None)
    assert alerts.exists()
    for health in TenantHealth.objects.all():
        open_high = alerts.filter(
            tenant_id=health.pk, severity="High", status__in=DefenderAlert.OPEN_STATUSES
        ).count()
        assert health.alerts_high == open_high
        if open_high:
            assert health.status in (HealthStatus.DEGRADED, HealthStatus.DOWN)
    assert all(a.remediation and a.description for a in alerts)


def test_the_hot_pool_is_degraded_for_its_tenants_and_names_its_noisy_neighbour(
    azure_emulator, fleet, control
):
    hot = azure_emulator.demo["fleet"]["hot_pool"]
    fleet_refresh(kind=RefreshRun.Kind.HOT)

    pool = PoolSnapshot.objects.get(pool_id=hot["id"].lower())
    assert pool.cpu_percent is not None and pool.cpu_percent > 90
    assert pool.cpu_hot_since is not None
    assert pool.database_shares[0]["tenant"] == hot["noisy_tenant"]
    # Shares come from the pool's per-database split (DatabaseResourceId) and add up to 100 %.
    shares = [s["cpu_percent"] for s in pool.database_shares]
    assert all(s is not None for s in shares) and abs(sum(shares) - 100) < 1
    noisy = TenantHealth.objects.get(tenant__slug=hot["noisy_tenant"])
    assert noisy.pool_share_percent == shares[0]
    member = TenantHealth.objects.filter(pool_name=pool.name).first()
    assert member is not None
    assert any(r.startswith(f"Pool {pool.name} CPU has been above 90 %") for r in member.reasons)
