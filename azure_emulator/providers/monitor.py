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

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from starlette.responses import JSONResponse, Response

from azure_emulator.arm import METRICS_AUDIENCE, ArmRequest, Router, normalise_region, split_id
from azure_emulator.errors import ArmError, bad_request, not_found
from azure_emulator.providers import metric_curves as curves
from azure_emulator.providers.monitor_catalogue import (
    CANONICAL_TYPES,
    CATALOGUE,
    GRAINS,
    MAX_BATCH_RESOURCES,
    MAX_POINTS,
    PER_DATABASE,
    SPLIT_DIMENSION,
    MetricSpec,
    parse_aggregations,
    parse_grain,
    parse_timespan,
)
from azure_emulator.providers.monitor_series import SubjectIndex, series
from azure_emulator.state import JSON, isoformat, parse_time


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
