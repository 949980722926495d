"""The metrics Azure Monitor knows per resource type, and the query parameters' grammar.

What each resource type reports (names, units, primary aggregation: Microsoft Learn "Azure
Monitor supported metrics"), the time grains and aggregations Azure accepts, and the parsers for
``timespan``, ``interval`` and ``aggregation`` with Azure's messages for bad values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from azure_emulator.errors import bad_request
from azure_emulator.faults import Faults
from azure_emulator.providers.web import PLAN_TYPE, SITE_TYPE
from azure_emulator.state import Store, parse_time

DB_TYPE = "Microsoft.Sql/servers/databases"
# Application Insights components (standard metrics, Microsoft Learn "Supported metrics for
# microsoft.insights/components"): the telemetry of the tenant's app, so derived from its site.
COMPONENT_TYPE = "microsoft.insights/components"
POOL_TYPE = "Microsoft.Sql/servers/elasticPools"

# Azure Monitor keeps platform metrics for 93 days.
RETENTION = timedelta(days=93)
MAX_POINTS = 50_000
MAX_BATCH_RESOURCES = 50
GRAINS = ("PT1M", "PT5M", "PT15M", "PT30M", "PT1H", "PT6H", "PT12H", "P1D")
AGGREGATIONS = {"average": "Average", "minimum": "Minimum", "maximum": "Maximum",
                "total": "Total", "count": "Count"}  # fmt: skip
VCORE_TIERS = ("generalpurpose", "businesscritical", "hyperscale")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    display: str
    unit: str
    primary: str
    description: str


def _m(
    name: str, display: str, unit: str, primary: str = "Average", description: str = ""
) -> MetricSpec:
    return MetricSpec(name, display, unit, primary, description or display)


# A pool's per-database metrics (Learn, "Azure Monitor supported metrics" for
# Microsoft.Sql/servers/elasticPools): split by the DatabaseResourceId dimension with
# ``$filter=DatabaseResourceId eq '*'``, one series per member database, from that database's
# own metric; without the filter, one series for the pool as a whole.
PER_DATABASE: dict[str, tuple[str, str, str]] = {
    "database_cpu_percent": ("cpu_percent", "CPU percentage", "Percent"),
    "database_dtu_consumption_percent": ("dtu_consumption_percent", "DTU percentage", "Percent"),
    "database_storage_used": ("storage", "Data space used", "Bytes"),
    "database_allocated_data_storage": ("allocated_data_storage", "Data space allocated", "Bytes"),
    "database_log_write_percent": ("log_write_percent", "Log IO percentage", "Percent"),
    "database_physical_data_read_percent": (
        "physical_data_read_percent",
        "Data IO percentage",
        "Percent",
    ),
    "database_sessions_percent": ("sessions_percent", "Sessions percentage", "Percent"),
    "database_workers_percent": ("workers_percent", "Workers percentage", "Percent"),
    "database_eDTU_used": ("dtu_used", "eDTU used", "Count"),
    "database_cpu_used": ("cpu_used", "CPU used", "Count"),
}
SPLIT_DIMENSION = "DatabaseResourceId"

_SQL_COMMON = [
    _m("cpu_percent", "CPU percentage", "Percent"),
    _m("dtu_consumption_percent", "DTU percentage", "Percent"),
    _m("storage_percent", "Data space used percent", "Percent"),
    _m("allocated_data_storage", "Data space allocated", "Bytes"),
    _m("log_write_percent", "Log IO percentage", "Percent"),
    _m("physical_data_read_percent", "Data IO percentage", "Percent"),
    _m("sessions_percent", "Sessions percentage", "Percent"),
    _m("sessions_count", "Sessions count", "Count"),
    _m("workers_percent", "Workers percentage", "Percent"),
    _m("cpu_used", "CPU used", "Count"),
    _m("cpu_limit", "CPU limit", "Count"),
    _m("xtp_storage_percent", "In-Memory OLTP storage percent", "Percent"),
    _m("sql_instance_cpu_percent", "SQL Server process core percent", "Percent"),
    _m("sql_instance_memory_percent", "SQL Server process memory percent", "Percent"),
]

CATALOGUE: dict[str, list[MetricSpec]] = {
    DB_TYPE.lower(): [
        *_SQL_COMMON,
        _m("storage", "Data space used", "Bytes", "Maximum"),
        _m("dtu_used", "DTU used", "Count"),
        _m("dtu_limit", "DTU Limit", "Count"),
        _m("availability", "Availability", "Percent"),
        _m("deadlock", "Deadlocks", "Count", "Total"),
        _m("connection_successful", "Successful Connections", "Count", "Total"),
        _m("connection_failed", "Failed Connections : System Errors", "Count", "Total"),
    ],
    POOL_TYPE.lower(): [
        *_SQL_COMMON,
        _m("eDTU_used", "eDTU used", "Count"),
        _m("eDTU_limit", "eDTU limit", "Count"),
        _m("storage_used", "Data space used", "Bytes"),
        _m("storage_limit", "Data max size", "Bytes"),
        _m("allocated_data_storage_percent", "Data space allocated percent", "Percent", "Maximum"),
        *(_m(name, display, unit) for name, (_, display, unit) in PER_DATABASE.items()),
    ],
    SITE_TYPE.lower(): [
        _m("Requests", "Requests", "Count", "Total"),
        _m("Http5xx", "Http Server Errors", "Count", "Total"),
        _m("Http4xx", "Http 4xx", "Count", "Total"),
        _m("Http2xx", "Http 2xx", "Count", "Total"),
        _m("HttpResponseTime", "Response Time", "Seconds"),
        _m("AverageResponseTime", "Average Response Time (deprecated)", "Seconds"),
        _m("HealthCheckStatus", "Health check status", "Count"),
        _m("CpuTime", "CPU Time", "Seconds", "Total"),
        _m("MemoryWorkingSet", "Memory working set", "Bytes"),
    ],
    COMPONENT_TYPE.lower(): [
        _m("availabilityResults/availabilityPercentage", "Availability", "Percent"),
        _m("requests/count", "Server requests", "Count", "Total"),
        _m("requests/failed", "Failed requests", "Count", "Total"),
        _m("requests/duration", "Server response time", "MilliSeconds"),
        _m("exceptions/count", "Exceptions", "Count", "Total"),
    ],
    PLAN_TYPE.lower(): [
        _m("CpuPercentage", "CPU Percentage", "Percent"),
        _m("MemoryPercentage", "Memory Percentage", "Percent"),
        _m("HttpQueueLength", "Http Queue Length", "Count"),
        _m("DiskQueueLength", "Disk Queue Length", "Count"),
    ],
}
CANONICAL_TYPES = {t.lower(): t for t in (DB_TYPE, POOL_TYPE, SITE_TYPE, PLAN_TYPE, COMPONENT_TYPE)}
# Counters whose Total is the sum of per-minute samples and whose values are whole numbers.
WHOLE_COUNTERS = {"Requests", "Http5xx", "Http4xx", "Http2xx", "deadlock", "connection_successful",
          "connection_failed", "sessions_count", "HttpQueueLength", "DiskQueueLength"}  # fmt: skip

_DURATION = re.compile(
    r"^P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not match or text.strip().upper() in ("P", "PT"):
        raise ValueError(f"'{text}' is not an ISO 8601 duration")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return timedelta(
        weeks=parts.get("w", 0),
        days=parts.get("d", 0),
        hours=parts.get("h", 0),
        minutes=parts.get("m", 0),
        seconds=parts.get("s", 0),
    )


def duration_text(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = "P" + (f"{days}D" if days else "")
    time_part = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    time_part += f"{secs}S" if secs else ""
    return text + ("T" + time_part if time_part else ("" if days else "T0S"))


def parse_timespan(text: str | None, now: datetime) -> tuple[datetime, datetime]:
    """``start/end``, ``start/duration``, ``duration/end`` or a bare duration ending now.

    Azure Monitor defaults to the last hour when no timespan is given.
    """
    if not text:
        return now - timedelta(hours=1), now
    try:
        if "/" not in text:
            return now - parse_duration(text), now
        left, right = (part.strip() for part in text.split("/", 1))
        if left.upper().startswith("P"):
            end = parse_time(right)
            return end - parse_duration(left), end
        start = parse_time(left)
        end = start + parse_duration(right) if right.upper().startswith("P") else parse_time(right)
    except ValueError as exc:
        raise bad_request(
            "BadRequest", f"Invalid timespan '{text}'. Expected 'start/end' in ISO 8601."
        ) from exc
    if end <= start:
        raise bad_request(
            "BadRequest", f"Invalid timespan '{text}': the end must follow the start."
        )
    return start, end


def parse_grain(text: str | None, start: datetime, end: datetime) -> tuple[str, timedelta]:
    raw = (text or "PT1M").strip().upper()
    if raw == "FULL":
        return duration_text(end - start), end - start
    for grain in GRAINS:
        if raw == grain:
            return grain, parse_duration(grain)
    raise bad_request(
        "BadRequest",
        f"Invalid time grain '{text}'. Supported time grains: {', '.join(GRAINS)}, FULL.",
    )


def parse_aggregations(text: str | None, spec: MetricSpec) -> list[str]:
    if not text:
        return [spec.primary]
    found = []
    for raw in text.split(","):
        name = AGGREGATIONS.get(raw.strip().lower())
        if name is None:
            raise bad_request(
                "BadRequest",
                f"Invalid aggregation '{raw.strip()}'. Valid values: Average, Count, Maximum, "
                "Minimum, Total.",
            )
        if name not in found:
            found.append(name)
    return found


def outage_start(store: Store, faults: Faults, region: str) -> float | None:
    """When the region's outage began (epoch seconds), or None when the region is up."""
    if not faults.region_down(region):
        return None
    # An outage switched on without going through the control API has no recorded start.
    return (faults.outage_started.get(region) or store.now()).timestamp()
