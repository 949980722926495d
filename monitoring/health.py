"""The health model: one status per tenant from its parts, by the written rules below.

Each rule looks at the tenant's snapshot and, when it applies, gives a status and a reason in
words. The tenant's status is the worst that applies (Down > Degraded > Healthy); data that is
too old to trust makes it Unknown, whatever the old data said (its findings are kept as
"last known" reasons). Change a rule here and its unit test in tests/monitoring/test_health.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitoring.models import HealthStatus, PoolSnapshot, Source, TenantHealth
from monitoring.sources import HOT_SOURCES, source_as_of

POOL_HOT_PERCENT = 90.0
POOL_HOT_FOR = timedelta(minutes=30)
# A database in one of these states serves no one.
DATABASE_DOWN_STATES = frozenset(
    {"Offline", "Inaccessible", "Suspect", "Disabled", "Stopped", "EmergencyMode", "Shutdown"}
)
_RANK = {HealthStatus.HEALTHY: 0, HealthStatus.DEGRADED: 1, HealthStatus.DOWN: 2}


@dataclass(frozen=True)
class Finding:
    status: HealthStatus
    reason: str


@dataclass(frozen=True)
class Context:
    health: TenantHealth
    pool: PoolSnapshot | None
    now: datetime
    refresh_interval: timedelta


Rule = Callable[[Context], Finding | None]


def app_stopped(ctx: Context) -> Finding | None:
    if ctx.health.app_state == "Stopped":
        return Finding(HealthStatus.DOWN, "The app is stopped.")
    return None


def app_unavailable(ctx: Context) -> Finding | None:
    h = ctx.health
    if h.app_availability == "Unavailable" and h.app_state != "Stopped":
        why = f": {h.app_availability_reason}" if h.app_availability_reason else "."
        return Finding(HealthStatus.DOWN, f"Resource Health reports the app unavailable{why}")
    return None


def database_unavailable(ctx: Context) -> Finding | None:
    h = ctx.health
    if h.db_availability == "Unavailable":
        why = f": {h.db_availability_reason}" if h.db_availability_reason else "."
        return Finding(HealthStatus.DOWN, f"Resource Health reports the database unavailable{why}")
    if h.db_status in DATABASE_DOWN_STATES:
        return Finding(HealthStatus.DOWN, f"The database is {h.db_status}.")
    return None


def app_degraded(ctx: Context) -> Finding | None:
    h = ctx.health
    if h.app_availability == "Degraded":
        why = f": {h.app_availability_reason}" if h.app_availability_reason else "."
        return Finding(HealthStatus.DEGRADED, f"Resource Health reports the app degraded{why}")
    return None


def pool_hot(ctx: Context) -> Finding | None:
    pool = ctx.pool
    if pool is None or pool.cpu_hot_since is None:
        return None
    if ctx.now - pool.cpu_hot_since >= POOL_HOT_FOR:
        minutes = int((ctx.now - pool.cpu_hot_since).total_seconds() // 60)
        return Finding(
            HealthStatus.DEGRADED,
            f"Pool {pool.name} CPU has been above {POOL_HOT_PERCENT:.0f} % for {minutes} minutes.",
        )
    return None


def high_severity_alert(ctx: Context) -> Finding | None:
    count = ctx.health.alerts_high
    if count:
        noun = "alert is" if count == 1 else "alerts are"
        return Finding(HealthStatus.DEGRADED, f"{count} high-severity Defender {noun} active.")
    return None


def posture_failure(ctx: Context) -> Finding | None:
    count = ctx.health.posture_failures
    if count:
        noun = "check fails" if count == 1 else "checks fail"
        return Finding(HealthStatus.DEGRADED, f"{count} security posture {noun}.")
    return None


RULES: tuple[Rule, ...] = (
    app_stopped,
    app_unavailable,
    database_unavailable,
    app_degraded,
    pool_hot,
    high_severity_alert,
    posture_failure,
)


def stale_sources(ctx: Context) -> list[str]:
    """Reasons for every hot source with no successful read within two refresh intervals."""
    limit = ctx.now - 2 * ctx.refresh_interval
    reasons = []
    for source in HOT_SOURCES:
        as_of = source_as_of(ctx.health, source)
        label = Source(source).label
        if as_of is None:
            reasons.append(f"{label}: never read.")
        elif as_of < limit:
            error = ctx.health.sources.get(source, {}).get("error") or "no refresh"
            reasons.append(f"{label}: no fresh data since {as_of:%Y-%m-%d %H:%M} UTC ({error}).")
    return reasons


def evaluate(ctx: Context) -> tuple[HealthStatus, list[str]]:
    """The tenant's status and its reasons, worst first."""
    findings = [f for f in (rule(ctx) for rule in RULES) if f is not None]
    findings.sort(key=lambda f: _RANK[f.status], reverse=True)
    stale = stale_sources(ctx)
    if stale:
        return HealthStatus.UNKNOWN, stale + [f"Last known: {f.reason}" for f in findings]
    if not findings:
        return HealthStatus.HEALTHY, []
    return findings[0].status, [f.reason for f in findings]
