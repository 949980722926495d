"""Microsoft.Insights metrics: the ARM per-resource API and the regional ``metrics:getBatch`` API.

ARM: ``GET /{resourceUri}/providers/Microsoft.Insights/metrics`` (azure-mgmt-monitor 7.0.0,
api-version 2024-02-01, docs/azure-behaviours.md §6.1). Batch: ``POST /subscriptions/{sub}/metrics:getBatch``
(azure-monitor-querymetrics' ``MetricsClient``, §6.2), which takes a token for
``https://metrics.monitor.azure.com`` rather than ARM's audience.

Values come from :mod:`metric_curves`: deterministic in the resource id and the time, with a
Sydney working-day rhythm, and shaped by what the resource went through (stopped or unhealthy
spells of a site, an offline database, a regional outage).

Both routes are exempt from the emulator's outage 503: during an outage Azure Monitor keeps
reporting, and what it reports (5xx, missing samples) is how the portal sees the outage.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import JSONResponse, Response

from azure_emulator.arm import METRICS_AUDIENCE, ArmRequest, Router, normalise_region, split_id
from azure_emulator.errors import ArmError, bad_request, not_found
from azure_emulator.faults import Faults
from azure_emulator.providers import metric_curves as curves
from azure_emulator.providers.web import PLAN_TYPE, SITE_TYPE, sites_on_plan, windows_of
from azure_emulator.state import JSON, Store, isoformat, parse_time

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
_WHOLE = {"Requests", "Http5xx", "Http4xx", "Http2xx", "deadlock", "connection_successful",
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


# -- subjects -------------------------------------------------------------------------------------


class SubjectIndex:
    """Builds :class:`curves.Subject` objects, sharing lookups across the resources of a query."""

    def __init__(self, store: Store, faults: Faults) -> None:
        self.store = store
        self.faults = faults
        self._pool_members: dict[str, list[JSON]] | None = None

    def members(self, pool_id: str) -> list[JSON]:
        """The pool's member databases."""
        return self._members(pool_id)

    def _members(self, pool_id: str) -> list[JSON]:
        if self._pool_members is None:
            self._pool_members = {}
            for db in self.store.of_type(DB_TYPE):
                pool = (db.get("properties") or {}).get("elasticPoolId")
                if pool:
                    self._pool_members.setdefault(str(pool).lower(), []).append(db)
        return self._pool_members.get(pool_id.lower(), [])

    def _scale(self, body: JSON) -> float:
        meta = body.get("_meta") or {}
        value = meta.get("scale")
        return (
            float(value) if isinstance(value, int | float) else curves.scale_for(body["id"].lower())
        )

    def _epoch(self, text: Any, default: float = 0.0) -> float:
        if not text:
            return default
        try:
            return parse_time(str(text)).timestamp()
        except ValueError:
            return default

    def _outage(self, body: JSON) -> list[curves.Window]:
        start = outage_start(self.store, self.faults, normalise_region(body.get("location")))
        return [] if start is None else [curves.Window(start, None, "outage")]

    def subject(self, body: JSON) -> curves.Subject:
        kind = str(body.get("type", "")).lower()
        if kind == COMPONENT_TYPE.lower():
            return self._component(body)
        key = body["id"].lower()
        meta = body.get("_meta") or {}
        props = body.get("properties") or {}
        profile = meta.get("metrics") or {}
        s = curves.Subject(resource_key=key, resource_type=kind, scale=self._scale(body))
        if isinstance(profile.get("error_rate"), int | float):
            s.error_rate = float(profile["error_rate"])
        if isinstance(profile.get("health_check_percent"), int | float):
            s.health_percent = float(profile["health_check_percent"])
        if kind == SITE_TYPE.lower():
            s.created = self._epoch(meta.get("created"))
            config = self.store.get(f"{body['id']}/config/web")
            # App Service's default config has a health check path; an explicit "" turns it off.
            s.health_check = config is None or bool(config["properties"].get("healthCheckPath"))
            s.windows = [
                curves.Window(
                    self._epoch(w["start"]),
                    self._epoch(w["end"]) if w.get("end") else None,
                    str(w["condition"]),
                )
                for w in windows_of(body)
            ]
        elif kind == PLAN_TYPE.lower():
            s.capacity = float(body["sku"].get("capacity") or 1)
            s.created = self._epoch(meta.get("created"))
            s.members_scale = sum(
                self._scale(site)
                for site in sites_on_plan(self.store, body["id"])
                if site["properties"].get("state") == "Running"
            )
        elif kind == DB_TYPE.lower():
            s.created = self._epoch(props.get("creationDate"))
            s.storage_limit = float(props.get("maxSizeBytes") or 0)
            s.storage_fraction = self._storage_fraction(body)
            pool = (
                self.store.get(str(props["elasticPoolId"])) if props.get("elasticPoolId") else None
            )
            sku = (pool or body).get("sku") or {}
            s.vcore = str(sku.get("tier", "")).lower() in VCORE_TIERS
            if pool is not None:
                per_db = (pool.get("properties") or {}).get("perDatabaseSettings") or {}
                s.capacity = float(per_db.get("maxCapacity") or sku.get("capacity") or 0)
            else:
                s.capacity = float(sku.get("capacity") or 0)
            status = str(props.get("status", "Online"))
            if status not in ("Online", "Scaling"):
                s.windows.append(curves.Window(0.0, None, "offline"))
        elif kind == POOL_TYPE.lower():
            s.created = self._epoch(props.get("creationDate"))
            sku = body.get("sku") or {}
            s.vcore = str(sku.get("tier", "")).lower() in VCORE_TIERS
            s.capacity = float(sku.get("capacity") or 0)
            s.storage_limit = float(props.get("maxSizeBytes") or 0)
            members = [
                m
                for m in self._members(body["id"])
                if m.get("properties", {}).get("status", "Online") == "Online"
            ]
            s.members = len(members)
            s.members_scale = sum(self._scale(m) for m in members)
            used = sum(
                float((m.get("properties") or {}).get("maxSizeBytes") or 0)
                * self._storage_fraction(m)
                for m in members
            )
            s.storage_fraction = min(0.95, used / s.storage_limit) if s.storage_limit else 0.0
        s.windows.extend(self._outage(body))
        return s

    def _component(self, body: JSON) -> curves.Subject:
        """An App Insights component sees what its app (the tenant's site) serves."""
        slug = (body.get("_meta") or {}).get("tenant")
        group = body["id"].split("/providers/", 1)[0]
        site = self.store.get(f"{group}/providers/Microsoft.Web/sites/app-{slug}") if slug else None
        if site is None:
            return curves.Subject(
                resource_key=body["id"].lower(), resource_type=COMPONENT_TYPE.lower(), scale=0.0
            )
        s = self.subject(site)
        s.resource_type = COMPONENT_TYPE.lower()
        return s

    def _storage_fraction(self, db: JSON) -> float:
        used = (db.get("_meta") or {}).get("used_bytes")
        limit = (db.get("properties") or {}).get("maxSizeBytes")
        if isinstance(used, int | float) and isinstance(limit, int | float) and limit > 0:
            return min(0.98, float(used) / float(limit))
        return 0.15 + 0.45 * curves.unit_hash(db["id"].lower(), "storage")


def sample(subject: curves.Subject, metric: str, epoch: float) -> float | None:
    kind = subject.resource_type
    if kind == SITE_TYPE.lower():
        return curves.site_value(subject, metric, epoch)
    if kind == PLAN_TYPE.lower():
        return curves.plan_value(subject, metric, epoch)
    if kind == COMPONENT_TYPE.lower():
        return curves.component_value(subject, metric, epoch)
    return curves.sql_value(subject, metric, epoch)


# -- series ---------------------------------------------------------------------------------------


def series(
    subject: curves.Subject,
    spec: MetricSpec,
    start: datetime,
    end: datetime,
    grain: timedelta,
    aggregations: list[str],
    now: datetime,
) -> list[JSON]:
    """Data points from ``start`` (floored to the grain) to ``end``, one per grain."""
    step = grain.total_seconds()
    first = math.floor(start.timestamp() / step) * step if step <= 86400 else start.timestamp()
    horizon = (now - RETENTION).timestamp()
    minutes = max(1.0, step / 60)
    # Sample at most 12 instants per point: a PT1H average from 12 samples of smooth curves is
    # within noise of one from 60, at a fifth of the cost (batch queries cover 50 resources).
    samples_per_point = int(min(12, minutes))
    points: list[JSON] = []
    t = first
    stop, present = end.timestamp(), now.timestamp()
    while t < stop:
        point: JSON = {"timeStamp": isoformat(datetime.fromtimestamp(t, UTC))}
        values: list[float] = []
        if horizon <= t < present and t >= subject.created - step:
            for i in range(samples_per_point):
                instant = t + (i + 0.5) * step / samples_per_point
                if instant > present or instant < subject.created:
                    continue
                value = sample(subject, spec.name, instant)
                if value is not None:
                    values.append(value)
        if values:
            covered = minutes * len(values) / samples_per_point
            mean = sum(values) / len(values)
            whole = spec.name in _WHOLE
            for aggregation in aggregations:
                if aggregation == "Average":
                    point["average"] = round(mean, 4)
                elif aggregation == "Minimum":
                    point["minimum"] = round(min(values), 4)
                elif aggregation == "Maximum":
                    point["maximum"] = round(max(values), 4)
                elif aggregation == "Total":
                    total = mean * covered
                    point["total"] = float(round(total)) if whole else round(total, 4)
                elif aggregation == "Count":
                    point["count"] = float(round(covered))
        elif spec.primary == "Total" and subject.created <= t < present:
            # Counters report zero rather than nothing when there was no traffic.
            for aggregation in aggregations:
                if aggregation in ("Total", "Count"):
                    point[aggregation.lower()] = 0.0
        points.append(point)
        t += step
    return points


@dataclass
class Query:
    start: datetime
    end: datetime
    grain_text: str
    grain: timedelta
    names: list[str]
    aggregation: str | None
    namespace: str | None
    metadata_only: bool
    filter: str | None = None


def resolve_specs(resource_type: str, names: list[str]) -> list[MetricSpec]:
    catalogue = CATALOGUE.get(resource_type.lower())
    provider, _, rest = CANONICAL_TYPES.get(resource_type.lower(), resource_type).partition("/")
    if catalogue is None:
        raise bad_request(
            "ResourceTypeNotSupported",
            f"The resource type '{resource_type}' has no metrics in this emulator.",
        )
    if not names:
        return [catalogue[0]]
    by_name = {spec.name.lower(): spec for spec in catalogue}
    found = []
    for raw in names:
        spec = by_name.get(raw.strip().lower())
        if spec is None:
            # Azure Monitor answers this one un-wrapped (docs/azure-behaviours.md §6.1).
            raise _Unwrapped(
                f"Failed to find metric configuration for provider: {provider.lower()}, "
                f"resource Type: {rest.lower()}, metric: {raw.strip()}, Valid metrics: "
                + ",".join(spec.name for spec in catalogue)
            )
        if spec not in found:
            found.append(spec)
    return found


class _Unwrapped(ArmError):
    """Azure Monitor's ``{"code": "BadRequest", "message": ...}`` body (no ``error`` wrapper)."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "BadRequest", message)

    def response(self) -> JSONResponse:
        return JSONResponse({"code": self.code, "message": self.message}, status_code=400)


def metric_body(
    resource: JSON,
    specs: list[MetricSpec],
    query: Query,
    index: SubjectIndex,
    now: datetime,
) -> list[JSON]:
    subject = index.subject(resource)
    value = []
    for spec in specs:
        aggregations = parse_aggregations(query.aggregation, spec)
        timeseries = (
            []
            if query.metadata_only
            else _timeseries(resource, subject, spec, query, index, aggregations, now)
        )
        value.append(
            {
                "id": f"{resource['id']}/providers/Microsoft.Insights/metrics/{spec.name}",
                "type": "Microsoft.Insights/metrics",
                "name": {"value": spec.name, "localizedValue": spec.display},
                "displayDescription": spec.description,
                "unit": spec.unit,
                "timeseries": timeseries,
                "errorCode": "Success",
            }
        )
    return value


def _timeseries(
    resource: JSON,
    subject: curves.Subject,
    spec: MetricSpec,
    query: Query,
    index: SubjectIndex,
    aggregations: list[str],
    now: datetime,
) -> list[JSON]:
    window = (query.start, query.end, query.grain, aggregations, now)
    if spec.name not in PER_DATABASE:
        return [{"metadatavalues": [], "data": series(subject, spec, *window)}]
    base = PER_DATABASE[spec.name][0]
    wanted = _split_values(query.filter)
    if wanted is None:
        pool_spec = replace(spec, name=base if base != "storage" else "storage_used")
        return [{"metadatavalues": [], "data": series(subject, pool_spec, *window)}]
    found = []
    for db in sorted(index.members(resource["id"]), key=lambda d: str(d["id"]).lower()):
        if wanted and str(db["id"]).lower() not in wanted:
            continue
        dimension = {"value": SPLIT_DIMENSION, "localizedValue": SPLIT_DIMENSION}
        found.append(
            {
                "metadatavalues": [{"name": dimension, "value": db["id"]}],
                "data": series(index.subject(db), replace(spec, name=base), *window),
            }
        )
    return found


def _split_values(text: str | None) -> set[str] | None:
    """Database ids a ``DatabaseResourceId eq '...'`` filter asks for: None without the
    dimension (no split), an empty set for ``'*'`` (every member)."""
    if not text or SPLIT_DIMENSION.lower() not in text.lower():
        return None
    values = re.findall(rf"{SPLIT_DIMENSION}\s+eq\s+'([^']*)'", text, flags=re.IGNORECASE)
    return set() if not values or "*" in values else {v.lower() for v in values}


def _check_points(query: Query, metrics: int) -> None:
    points = (query.end - query.start) / query.grain
    if points * max(1, metrics) > MAX_POINTS:
        raise bad_request(
            "BadRequest",
            f"The query asks for {int(points * metrics)} data points, more than the "
            f"{MAX_POINTS} allowed. Use a larger interval or a shorter timespan.",
        )


def _namespace_matches(namespace: str | None, resource_type: str) -> bool:
    return namespace is None or namespace.lower() == resource_type.lower()


router = Router()


@router.route(
    "GET",
    "/{resource:path}/providers/Microsoft.Insights/metrics",
    "monitor.metrics.list",
    outage_exempt=True,
)
def metrics_list(req: ArmRequest) -> Response:
    try:
        return _metrics_list(req)
    except _Unwrapped as exc:
        return exc.response()


def _metrics_list(req: ArmRequest) -> Response:
    resource_id = "/" + req.params["resource"].strip("/")
    resource = req.store.get(resource_id)
    if resource is None:
        raise not_found(resource_id.rsplit("/", 2)[-2], resource_id.rsplit("/", 1)[-1])
    now = req.store.now()
    start, end = parse_timespan(req.arg("timespan"), now)
    grain_text, grain = parse_grain(req.arg("interval"), start, end)
    names = [n for n in (req.arg("metricnames") or "").split(",") if n.strip()]
    query = Query(
        start=start,
        end=end,
        grain_text=grain_text,
        grain=grain,
        names=names,
        aggregation=req.arg("aggregation"),
        namespace=req.arg("metricnamespace"),
        metadata_only=(req.arg("resultType") or "").lower() == "metadata",
        filter=req.arg("$filter") or req.arg("filter"),
    )
    resource_type = str(resource["type"])
    if not _namespace_matches(query.namespace, resource_type):
        raise bad_request(
            "BadRequest",
            f"Metric namespace '{query.namespace}' is not valid for resource type "
            f"'{resource_type}'.",
        )
    specs = resolve_specs(resource_type, names)
    _check_points(query, len(specs))
    index = SubjectIndex(req.store, req.emulator.faults)
    body = {
        "cost": len(specs) * max(1, int((end - start) / grain)),
        "timespan": f"{isoformat(start)}/{isoformat(end)}",
        "interval": grain_text,
        "value": metric_body(resource, specs, query, index, now),
        "namespace": resource_type,
        "resourceregion": normalise_region(resource.get("location")),
    }
    return JSONResponse(body)


@router.route(
    "GET",
    "/{resource:path}/providers/Microsoft.Insights/metricDefinitions",
    "monitor.metric_definitions.list",
    outage_exempt=True,
)
def metric_definitions(req: ArmRequest) -> Response:
    resource_id = "/" + req.params["resource"].strip("/")
    resource = req.store.get(resource_id)
    if resource is None:
        raise not_found(resource_id.rsplit("/", 2)[-2], resource_id.rsplit("/", 1)[-1])
    resource_type = str(resource["type"])
    value = [
        {
            "id": f"{resource['id']}/providers/microsoft.insights/metricdefinitions/{spec.name}",
            "resourceId": resource["id"],
            "namespace": resource_type,
            "name": {"value": spec.name, "localizedValue": spec.display},
            "displayDescription": spec.description,
            "isDimensionRequired": False,
            "unit": spec.unit,
            "primaryAggregationType": spec.primary,
            "supportedAggregationTypes": [
                "None",
                "Average",
                "Minimum",
                "Maximum",
                "Total",
                "Count",
            ],
            "metricAvailabilities": [{"timeGrain": grain, "retention": "P93D"} for grain in GRAINS],
            "dimensions": [{"value": SPLIT_DIMENSION, "localizedValue": SPLIT_DIMENSION}]
            if spec.name in PER_DATABASE
            else [],
        }
        for spec in CATALOGUE.get(resource_type.lower(), [])
    ]
    return JSONResponse({"value": value})


# -- batch ------------------------------------------------------------------------------------------


@router.route(
    "POST",
    "/subscriptions/{subscription}/metrics:getBatch",
    "monitor.metrics.batch",
    throttle="none",
    audience=METRICS_AUDIENCE,
    outage_exempt=True,
)
def metrics_batch(req: ArmRequest) -> Response:
    try:
        return _metrics_batch(req)
    except _Unwrapped as exc:
        # The data-plane API wraps every error, this one included.
        return ArmError(400, "BadRequest", exc.message).response()


def _metrics_batch(req: ArmRequest) -> Response:
    namespace = req.arg("metricnamespace")
    names = [n for n in (req.arg("metricnames") or "").split(",") if n.strip()]
    if not namespace:
        raise bad_request("BadRequest", "The metricnamespace query parameter is required.")
    if not names:
        raise bad_request("BadRequest", "The metricnames query parameter is required.")
    body = req.json()
    raw_ids = body.get("resourceids")
    if not isinstance(raw_ids, list) or not raw_ids or not all(isinstance(i, str) for i in raw_ids):
        raise bad_request("BadRequest", "The body must carry a non-empty 'resourceids' array.")
    ids: list[str] = []
    for raw in raw_ids:
        if raw.lower() not in (i.lower() for i in ids):
            ids.append(raw)
    if len(ids) > MAX_BATCH_RESOURCES:
        raise bad_request(
            "BadRequest",
            f"The request contains {len(ids)} resource ids; at most {MAX_BATCH_RESOURCES} "
            "are allowed in one batch.",
        )
    subscription = req.params["subscription"].lower()
    regions: set[str] = set()
    resources: list[tuple[str, JSON | None]] = []
    for resource_id in ids:
        parts = split_id(resource_id)
        if parts.get("subscriptions", "").lower() != subscription:
            raise bad_request(
                "BadRequest",
                f"Resource '{resource_id}' is not in subscription '{req.params['subscription']}'; "
                "all resources of a batch must be in the subscription of the request.",
            )
        resource = req.store.get(resource_id)
        resource_type = str(resource["type"]) if resource else _type_of(resource_id)
        if resource_type.lower() != namespace.lower():
            raise bad_request(
                "BadRequest",
                f"Resource '{resource_id}' is of type '{resource_type}', not '{namespace}'; all "
                "resources of a batch must be of the metric namespace's type.",
            )
        if resource is not None:
            regions.add(normalise_region(resource.get("location")))
        resources.append((resource_id, resource))
    if len(regions) > 1:
        raise bad_request(
            "BadRequest",
            f"The resources span regions {', '.join(sorted(regions))}; all resources of a batch "
            "must be in the same region.",
        )
    now = req.store.now()
    start = (
        parse_time(req.arg("starttime") or "") if req.arg("starttime") else now - timedelta(hours=1)
    )
    end = parse_time(req.arg("endtime") or "") if req.arg("endtime") else now
    if end <= start:
        raise bad_request("BadRequest", "endtime must be later than starttime.")
    grain_text, grain = parse_grain(req.arg("interval"), start, end)
    query = Query(
        start=start,
        end=end,
        grain_text=grain_text,
        grain=grain,
        names=names,
        aggregation=req.arg("aggregation"),
        namespace=namespace,
        metadata_only=False,
        filter=req.arg("filter"),
    )
    specs = resolve_specs(namespace, names)
    _check_points(query, len(specs) * len(resources))
    index = SubjectIndex(req.store, req.emulator.faults)
    values = []
    for resource_id, resource in resources:
        entry: JSON = {
            "starttime": isoformat(start),
            "endtime": isoformat(end),
            "interval": grain_text,
            "namespace": CANONICAL_TYPES.get(namespace.lower(), namespace),
            "resourceregion": normalise_region(resource.get("location")) if resource else "",
            "resourceid": resource_id,
        }
        if resource is None:
            # The batch API reads the metrics store, not ARM: an unknown id simply has no data.
            entry["value"] = [
                {
                    "id": f"{resource_id}/providers/Microsoft.Insights/metrics/{spec.name}",
                    "type": "Microsoft.Insights/metrics",
                    "name": {"value": spec.name, "localizedValue": spec.display},
                    "displayDescription": spec.description,
                    "unit": spec.unit,
                    "timeseries": [],
                    "errorCode": "Success",
                }
                for spec in specs
            ]
        else:
            entry["value"] = metric_body(resource, specs, query, index, now)
        values.append(entry)
    return JSONResponse({"values": values})


def _type_of(resource_id: str) -> str:
    """``Microsoft.Sql/servers/databases`` from an id, without looking it up."""
    parts = [p for p in resource_id.split("/") if p]
    try:
        at = max(i for i, p in enumerate(parts) if p.lower() == "providers")
    except ValueError:
        return ""
    tail = parts[at + 1 :]
    return "/".join([tail[0], *tail[1::2]]) if tail else ""
