"""Azure Monitor metrics for many resources at once (`metrics:getBatch`, at most 50 resources of
one type and one region per call), with the calls spread over a small, bounded thread pool.

An ARM `metrics.list` per resource would cost one throttled ARM read per tenant per metric set;
the batch API answers for fifty resources per request from the regional metrics endpoint.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.rest import HttpRequest

from portal.azure.clients import azure_clients
from portal.azure.errors import AzureError, azure_errors
from portal.azure.raw_json import parse_time, send_json

BATCH_SIZE = 50
CONCURRENCY = 8

Series = list[tuple[datetime, float]]


@dataclass
class BatchResult:
    """Series per lower-case resource id and metric name; resources whose batch failed are in
    `failed` with the reason (the others are unaffected)."""

    series: dict[str, dict[str, Series]]
    failed: dict[str, str]


def _resource_of(metric_id: str) -> str:
    lowered = metric_id.lower()
    cut = lowered.rfind("/providers/microsoft.insights/metrics/")
    return lowered[:cut] if cut >= 0 else lowered


def _duration(grain: timedelta) -> str:
    """ISO 8601 duration of a metric grain (`PT5M`, `PT1H`, `P1D`)."""
    seconds = int(grain.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return f"P{days}D" + (f"T{time}" if time else "") if days else f"PT{time or '0S'}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _query(
    ids: Sequence[str],
    namespace: str,
    metrics: Mapping[str, str],
    timespan: tuple[datetime, datetime],
    grain: timedelta,
    split: str | None = None,
) -> dict[str, dict[str, Series]]:
    """One `metrics:getBatch` request, its answer read as JSON (raw_json.py): fifty resources'
    series as SDK models cost more CPU than everything else in a hot refresh.

    Series by resource, then by metric name; with `split` (a dimension, asked for as
    `{split} eq '*'`), by the dimension's value (lower case) instead: one series per value."""
    client = azure_clients().metrics()
    subscription = ids[0].strip("/").split("/")[1]
    start, end = timespan
    request = HttpRequest(
        "POST",
        f"/subscriptions/{subscription}/metrics:getBatch",
        params={
            "api-version": client._config.api_version,
            "metricnamespace": namespace,
            "metricnames": ",".join(name.replace(",", "%2") for name in metrics),
            "starttime": _iso(start),
            "endtime": _iso(end),
            "interval": _duration(grain),
            "aggregation": ",".join(sorted(set(metrics.values()))),
            **({"filter": f"{split} eq '*'"} if split else {}),
        },
        json={"resourceids": list(ids)},
    )
    with azure_errors():
        body = send_json(client, request)
    found: dict[str, dict[str, Series]] = {}
    for result in body.get("values") or []:
        for metric in result.get("value") or []:
            # Each metric's id is `{resource id}/providers/Microsoft.Insights/metrics/{name}`.
            resource_id = _resource_of(str(metric.get("id", "")))
            name = str((metric.get("name") or {}).get("value", ""))
            field = metrics.get(name, "Average").lower()
            series = found.setdefault(resource_id, {})
            for element in metric.get("timeseries") or []:
                key = _dimension_value(element, split) if split else name
                series.setdefault(key, []).extend(_points(element, field))
    return found


def _dimension_value(element: dict[str, Any], dimension: str) -> str:
    for pair in element.get("metadatavalues") or []:
        if str((pair.get("name") or {}).get("value", "")).lower() == dimension.lower():
            return str(pair.get("value", "")).lower()
    return ""


def _points(element: dict[str, Any], field: str) -> Series:
    points: Series = []
    for point in element.get("data") or []:
        value = point.get(field)
        moment = parse_time(point.get("timeStamp"))
        if value is not None and moment is not None:
            points.append((moment, float(value)))
    return points


def metrics_batch(
    resource_ids: Sequence[str],
    *,
    namespace: str,
    metrics: Mapping[str, str],
    timespan: tuple[datetime, datetime],
    grain: timedelta,
    split: str | None = None,
) -> BatchResult:
    """`metrics` (name → aggregation: Average, Total, Maximum) for every resource (one namespace; the caller groups by subscription and
    region, as the batch API requires), fifty per call, `CONCURRENCY` calls at a time. With
    `split`, each resource's series are by that dimension's value (see `_query`)."""
    unique = list(dict.fromkeys(resource_ids))
    chunks = [unique[i : i + BATCH_SIZE] for i in range(0, len(unique), BATCH_SIZE)]
    result = BatchResult(series={}, failed={})
    if not chunks:
        return result

    def run(chunk: list[str]) -> tuple[list[str], dict[str, dict[str, Series]] | AzureError]:
        try:
            return chunk, _query(chunk, namespace, metrics, timespan, grain, split)
        except AzureError as exc:
            return chunk, exc

    with ThreadPoolExecutor(max_workers=min(CONCURRENCY, len(chunks))) as pool:
        # Each thread runs in a copy of this context so the caller's call meter sees its calls.
        futures = [pool.submit(contextvars.copy_context().run, run, c) for c in chunks]
        for future in futures:
            chunk, outcome = future.result()
            if isinstance(outcome, AzureError):
                result.failed.update({rid.lower(): str(outcome) for rid in chunk})
            else:
                result.series.update(outcome)
    return result
