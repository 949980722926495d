"""Each health rule, both ways, on unsaved snapshots (no database, no Azure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitoring.health import Context, evaluate
from monitoring.models import HealthStatus, PoolSnapshot, Source, TenantHealth
from monitoring.sources import HOT_SOURCES

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=2)


def fresh(**fields: object) -> TenantHealth:
    """A snapshot every hot source read a minute ago, healthy unless told otherwise."""
    values: dict[str, object] = {
        "app_state": "Running",
        "app_availability": "Available",
        "db_status": "Online",
        "db_availability": "Available",
        "sources": {s: {"as_of": (NOW - timedelta(minutes=1)).isoformat(), "error": ""} for s in HOT_SOURCES},
    }  # fmt: skip
    values.update(fields)
    return TenantHealth(**values)


def judge(health: TenantHealth, pool: PoolSnapshot | None = None) -> tuple[str, list[str]]:
    return evaluate(Context(health=health, pool=pool, now=NOW, refresh_interval=INTERVAL))


def test_a_tenant_with_nothing_wrong_is_healthy_with_no_reasons():
    assert judge(fresh()) == (HealthStatus.HEALTHY, [])


def test_a_stopped_app_is_down():
    assert judge(fresh(app_state="Stopped")) == (HealthStatus.DOWN, ["The app is stopped."])


def test_an_app_resource_health_calls_unavailable_is_down_with_its_reason():
    status, reasons = judge(fresh(app_availability="Unavailable", app_availability_reason="Boom"))
    assert status == HealthStatus.DOWN
    assert reasons == ["Resource Health reports the app unavailable: Boom"]


def test_an_unavailable_database_is_down_and_an_available_one_is_not():
    assert judge(fresh(db_availability="Unavailable"))[0] == HealthStatus.DOWN
    assert judge(fresh(db_status="Offline")) == (HealthStatus.DOWN, ["The database is Offline."])
    assert judge(fresh(db_status="Scaling"))[0] == HealthStatus.HEALTHY


def test_a_degraded_app_is_degraded():
    status, reasons = judge(fresh(app_availability="Degraded", app_availability_reason="Failing"))
    assert status == HealthStatus.DEGRADED
    assert reasons == ["Resource Health reports the app degraded: Failing"]


def _pool(hot_for: timedelta | None) -> PoolSnapshot:
    return PoolSnapshot(name="pool-01", cpu_hot_since=None if hot_for is None else NOW - hot_for)


def test_a_pool_above_90_percent_for_30_minutes_degrades_its_tenants():
    status, reasons = judge(fresh(), _pool(timedelta(minutes=31)))
    assert status == HealthStatus.DEGRADED
    assert reasons == ["Pool pool-01 CPU has been above 90 % for 31 minutes."]


def test_a_pool_hot_for_less_than_30_minutes_or_not_hot_does_not():
    assert judge(fresh(), _pool(timedelta(minutes=29)))[0] == HealthStatus.HEALTHY
    assert judge(fresh(), _pool(None))[0] == HealthStatus.HEALTHY


def test_an_active_high_severity_alert_degrades_but_medium_ones_do_not():
    assert judge(fresh(alerts_high=2)) == (
        HealthStatus.DEGRADED,
        ["2 high-severity Defender alerts are active."],
    )
    assert judge(fresh(alerts_medium=3))[0] == HealthStatus.HEALTHY


def test_a_posture_failure_degrades():
    assert judge(fresh(posture_failures=1)) == (
        HealthStatus.DEGRADED,
        ["1 security posture check fails."],
    )


def test_down_outranks_degraded_and_every_reason_is_kept_worst_first():
    status, reasons = judge(fresh(alerts_high=1, app_state="Stopped"))
    assert status == HealthStatus.DOWN
    assert reasons == ["The app is stopped.", "1 high-severity Defender alert is active."]


def test_data_older_than_two_intervals_is_unknown_with_the_last_known_findings():
    old = (NOW - 2 * INTERVAL - timedelta(seconds=1)).isoformat()
    health = fresh(app_state="Stopped")
    health.sources = {**health.sources, Source.DATABASES: {"as_of": old, "error": "(Boom) down"}}
    status, reasons = judge(health)
    assert status == HealthStatus.UNKNOWN
    assert (
        reasons[0].startswith("SQL databases: no fresh data since") and "(Boom) down" in reasons[0]
    )
    assert reasons[1] == "Last known: The app is stopped."


def test_data_just_within_two_intervals_still_counts():
    recent = (NOW - 2 * INTERVAL + timedelta(seconds=1)).isoformat()
    health = fresh()
    health.sources = {**health.sources, Source.DATABASES: {"as_of": recent, "error": "x"}}
    assert judge(health)[0] == HealthStatus.HEALTHY


def test_a_tenant_never_read_is_unknown():
    status, reasons = judge(TenantHealth())
    assert status == HealthStatus.UNKNOWN
    assert "App Service sites: never read." in reasons
