"""Deterministic metric values: a daily rhythm in Sydney plus per-resource, per-metric noise.

Nothing here is random: a value is a pure function of the resource id, the metric name, the
instant and the resource's condition, so two queries over the same window agree, a PT1H point
agrees with the PT1M points inside it (up to sampling), and a test can assert on shapes
("business hours are busier than 3 a.m.") without flakiness.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

SYDNEY = ZoneInfo("Australia/Sydney")

# Noise knots are this far apart; values in between are interpolated so that curves are smooth
# and a query costs one hash per knot instead of one per sample.
KNOT_SECONDS = 300


def unit_hash(*parts: object) -> float:
    """A stable float in [0, 1) from the given parts (not Python's salted ``hash``)."""
    digest = hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@lru_cache(maxsize=200_000)
def _knot(resource_key: str, metric: str, index: int) -> float:
    return unit_hash(resource_key, metric, index) * 2.0 - 1.0


def noise(resource_key: str, metric: str, epoch: float) -> float:
    """Smooth deterministic noise in [-1, 1] (cosine interpolation between 5-minute knots)."""
    position = epoch / KNOT_SECONDS
    index = math.floor(position)
    frac = position - index
    weight = (1 - math.cos(frac * math.pi)) / 2
    a = _knot(resource_key, metric, index)
    b = _knot(resource_key, metric, index + 1)
    return a + (b - a) * weight


@lru_cache(maxsize=50_000)
def _load_at_minute(minute: int) -> float:
    local = datetime.fromtimestamp(minute * 60, UTC).astimezone(SYDNEY)
    hour = local.hour + local.minute / 60
    # A working-day bell between 07:00 and 20:00 local time peaking early afternoon, a small
    # evening shoulder, and a quiet night; weekends keep a fraction of the weekday traffic.
    bell = math.sin(math.pi * (hour - 7) / 13) ** 2 if 7 <= hour <= 20 else 0.0
    evening = 0.15 * math.exp(-(((hour - 21) / 1.5) ** 2))
    weekday = local.weekday() < 5
    return 0.08 + (0.92 if weekday else 0.3) * bell + evening


def daily_load(epoch: float) -> float:
    """How busy the fleet is at this instant, in [0, ~1.1]; Australia/Sydney business hours peak."""
    return _load_at_minute(int(epoch // 60))


@dataclass(frozen=True)
class Window:
    """A span of time during which a resource was in some condition (stopped, unhealthy...)."""

    start: float
    end: float | None
    condition: str

    def covers(self, epoch: float) -> bool:
        return self.start <= epoch and (self.end is None or epoch < self.end)


@dataclass
class Subject:
    """What the generator knows about one resource when producing its values."""

    resource_key: str
    resource_type: str
    # 0.3-1.0: how busy this tenant is compared with the others; from the id unless seeded.
    scale: float
    capacity: float = 0.0
    storage_limit: float = 0.0
    storage_fraction: float = 0.5
    vcore: bool = False
    health_check: bool = True
    members: int = 1
    members_scale: float = 1.0
    windows: list[Window] = field(default_factory=list)
    created: float = 0.0
    # From the seeded metric profile: what an unhealthy app's errors and health checks look like.
    error_rate: float | None = None
    health_percent: float | None = None

    def condition(self, epoch: float) -> str:
        """The latest window covering ``epoch`` wins; the default is "ok"."""
        found = "ok"
        for window in self.windows:
            if window.covers(epoch):
                found = window.condition
        return found


def scale_for(resource_key: str) -> float:
    return 0.3 + 0.7 * unit_hash(resource_key, "scale")


# -- per-minute values ------------------------------------------------------------------------
# Each function returns the value of one 1-minute sample, or None when the resource emits no data
# at that instant (a stopped site has no response times; a site without a health check path has
# no HealthCheckStatus; nothing exists before the resource was created).


def _pct(value: float) -> float:
    return round(min(100.0, max(0.0, value)), 4)


def _busy(s: Subject, metric: str, epoch: float) -> float:
    """A tenant's utilisation in percent: daily rhythm times its own scale, plus noise that
    grows with the scale so a quiet database's rhythm is not drowned by it."""
    spread = 1.5 + 6 * s.scale
    return 6 + 55 * s.scale * daily_load(epoch) + spread * noise(s.resource_key, metric, epoch)


def site_requests(s: Subject, epoch: float) -> float:
    condition = s.condition(epoch)
    if condition in ("stopped", "outage"):
        return 0.0
    base = 400 * s.scale * daily_load(epoch)
    return max(0.0, base * (1 + 0.2 * noise(s.resource_key, "Requests", epoch)))


def site_error_rate(s: Subject, epoch: float) -> float:
    """Share of requests answered 5xx: near zero when healthy, a real fraction when not."""
    wobble = noise(s.resource_key, "Http5xx", epoch)
    if s.condition(epoch) == "unhealthy":
        rate = s.error_rate if s.error_rate is not None and s.error_rate >= 0.05 else 0.15
        return max(0.05, rate * (1 + 0.3 * wobble))
    return max(0.0, 0.0008 + 0.0008 * wobble)


def site_value(s: Subject, metric: str, epoch: float) -> float | None:
    condition = s.condition(epoch)
    requests = site_requests(s, epoch)
    if metric == "Requests":
        return requests
    if metric == "Http5xx":
        if condition == "outage":
            # The front ends still answer while the workers are gone: every request fails.
            return 400 * s.scale * daily_load(epoch)
        return requests * site_error_rate(s, epoch)
    if metric == "Http4xx":
        return requests * (0.02 + 0.01 * noise(s.resource_key, "Http4xx", epoch))
    if metric == "Http2xx":
        return requests * (
            1 - site_error_rate(s, epoch) - (0.02 + 0.01 * noise(s.resource_key, "Http4xx", epoch))
        )
    if condition in ("stopped", "outage"):
        # No worker is running, so nothing reports response times, CPU, memory or health.
        return None
    if metric in ("HttpResponseTime", "AverageResponseTime"):
        seconds = 0.12 + 0.25 * daily_load(epoch) * s.scale
        if condition == "unhealthy":
            seconds = 2.5 + 1.5 * noise(s.resource_key, metric, epoch)
        return round(max(0.01, seconds + 0.03 * noise(s.resource_key, metric, epoch)), 4)
    if metric == "HealthCheckStatus":
        if not s.health_check:
            return None
        if condition == "unhealthy":
            base = (
                s.health_percent if s.health_percent is not None and s.health_percent < 90 else 40
            )
            return _pct(base + 12 * noise(s.resource_key, metric, epoch))
        return 100.0
    if metric == "CpuTime":
        return round(requests * 0.015, 4)
    if metric == "MemoryWorkingSet":
        return float(int((280 + 180 * daily_load(epoch) * s.scale) * 1024 * 1024))
    return None


def component_value(s: Subject, metric: str, epoch: float) -> float | None:
    """Application Insights of the tenant's app: its site's traffic as the app reports it."""
    condition = s.condition(epoch)
    if metric == "availabilityResults/availabilityPercentage":
        if condition in ("stopped", "outage"):
            return 0.0
        if condition == "unhealthy":
            base = s.health_percent if s.health_percent is not None else 40.0
            return _pct(base + 10 * noise(s.resource_key, metric, epoch))
        return 100.0
    if metric == "requests/count":
        return site_value(s, "Requests", epoch)
    if metric == "requests/failed":
        return site_value(s, "Http5xx", epoch)
    if metric == "exceptions/count":
        failed = site_value(s, "Http5xx", epoch)
        return None if failed is None else failed * 0.7
    if metric == "requests/duration":
        seconds = site_value(s, "HttpResponseTime", epoch)
        return None if seconds is None else round(seconds * 1000, 2)
    return None


def plan_value(s: Subject, metric: str, epoch: float) -> float | None:
    if s.condition(epoch) == "outage":
        return None
    workers = max(1.0, s.capacity)
    # More sites (and busier ones) push CPU up; more workers share the load.
    demand = s.members_scale * daily_load(epoch) * 55 / math.sqrt(workers)
    if metric == "CpuPercentage":
        return _pct(8 + demand + 6 * noise(s.resource_key, metric, epoch))
    if metric == "MemoryPercentage":
        return _pct(38 + demand * 0.5 + 4 * noise(s.resource_key, metric, epoch))
    if metric == "HttpQueueLength":
        return float(max(0, round(demand / 20 + noise(s.resource_key, metric, epoch))))
    if metric == "DiskQueueLength":
        return float(max(0, round(noise(s.resource_key, metric, epoch))))
    return None


def sql_value(s: Subject, metric: str, epoch: float) -> float | None:
    condition = s.condition(epoch)
    if condition in ("outage", "offline"):
        return 0.0 if metric == "availability" else None
    pooled = s.resource_type.endswith("elasticpools")
    if pooled:
        # A pool carries the sum of its members' demand (a busy database wants ~5 eDTU or
        # ~0.15 vCore at peak), diluted by its capacity: scaling up lowers the percentages.
        demand = s.members_scale * (0.15 if s.vcore else 5.0) * daily_load(epoch)
        load = min(100.0, 4 + 100 * demand / max(s.capacity, 0.1))
    else:
        load = _busy(s, "load", epoch)
    wobble = noise(s.resource_key, metric, epoch)
    if metric.startswith(("storage", "allocated_data_storage")):
        return _storage_value(s, metric, epoch)
    if metric in ("cpu_percent", "sql_instance_cpu_percent"):
        return _pct(load + (1 + 3 * s.scale) * wobble)
    if metric == "dtu_consumption_percent":
        return None if s.vcore else _pct(load + 4 * wobble)
    if metric in ("eDTU_used", "dtu_used"):
        return None if s.vcore else round(s.capacity * _pct(load + 4 * wobble) / 100, 2)
    if metric in ("eDTU_limit", "dtu_limit"):
        return None if s.vcore else s.capacity
    if metric == "cpu_used":
        return round(s.capacity * _pct(load + 5 * wobble) / 100, 3) if s.vcore else None
    if metric == "cpu_limit":
        return s.capacity if s.vcore else None
    if metric == "log_write_percent":
        return _pct(load * 0.4 + 3 * wobble)
    if metric == "physical_data_read_percent":
        return _pct(load * 0.3 + 3 * wobble)
    if metric == "workers_percent":
        return _pct(load * 0.35 + 2 * wobble)
    if metric == "sessions_percent":
        return _pct(load * 0.25 + 2 * wobble)
    if metric == "sessions_count":
        return float(max(0, round((s.members if pooled else 1) * 6 * daily_load(epoch) * s.scale)))
    if metric == "xtp_storage_percent":
        return 0.0
    if metric == "sql_instance_memory_percent":
        return _pct(45 + load * 0.4 + 3 * wobble)
    if metric == "availability":
        return 100.0
    if metric == "deadlock":
        return 1.0 if unit_hash(s.resource_key, metric, int(epoch // 60)) < 0.0005 else 0.0
    if metric == "connection_successful":
        return float(max(0, round(20 * s.scale * daily_load(epoch) * (1 + 0.3 * wobble))))
    if metric == "connection_failed":
        return 1.0 if unit_hash(s.resource_key, metric, int(epoch // 60)) < 0.01 else 0.0
    return None


def _storage_value(s: Subject, metric: str, epoch: float) -> float:
    # Data grows slowly (about 0.5% of the limit a month) from the seeded size.
    used = s.storage_limit * min(
        0.98, s.storage_fraction + 0.0000002 * max(0.0, epoch - s.created) / 3600
    )
    if metric in ("storage", "storage_used"):
        return float(int(used))
    if metric == "allocated_data_storage":
        # Allocated runs ahead of used, but never past the size limit.
        return float(int(min(s.storage_limit, used * 1.12) if s.storage_limit else used * 1.12))
    if metric == "storage_limit":
        return s.storage_limit
    if metric == "storage_percent":
        return _pct(100 * used / s.storage_limit) if s.storage_limit else 0.0
    # allocated_data_storage_percent
    return _pct(min(100.0, 112 * used / s.storage_limit)) if s.storage_limit else 0.0
