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
from datetime import datetime, timedelta

from portal.azure.clients import azure_clients
from portal.azure.errors import AzureError, azure_errors

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


def _query(
    ids: Sequence[str],
    namespace: str,
    metrics: Mapping[str, str],
    timespan: tuple[datetime, datetime],
    grain: timedelta,
) -> dict[str, dict[str, Series]]:
    client = azure_clients().metrics()
    with azure_errors():
        results = client.query_resources(
            resource_ids=list(ids),
            metric_namespace=namespace,
            metric_names=list(metrics),
            timespan=timespan,
            granularity=grain,
            aggregations=sorted(set(metrics.values())),
        )
    found: dict[str, dict[str, Series]] = {}
    for result in results:
        # The SDK's result drops the batch answer's resource id; each metric's id carries it
        # (`{resource id}/providers/Microsoft.Insights/metrics/{name}`).
        for metric in result.metrics:
            resource_id = _resource_of(metric.id)
            field = metrics.get(metric.name, "Average").lower()
            points: Series = []
            for element in metric.timeseries:
                for point in element.data:
                    value = getattr(point, field, None)
                    if value is not None:
                        points.append((point.timestamp, float(value)))
            found.setdefault(resource_id, {})[metric.name] = points
    return found


def metrics_batch(
    resource_ids: Sequence[str],
    *,
    namespace: str,
    metrics: Mapping[str, str],
    timespan: tuple[datetime, datetime],
    grain: timedelta,
) -> BatchResult:
    """`metrics` (name → aggregation: Average, Total, Maximum) for every resource (one namespace; the caller groups by subscription and
    region, as the batch API requires), fifty per call, `CONCURRENCY` calls at a time."""
    unique = list(dict.fromkeys(resource_ids))
    chunks = [unique[i : i + BATCH_SIZE] for i in range(0, len(unique), BATCH_SIZE)]
    result = BatchResult(series={}, failed={})
    if not chunks:
        return result

    def run(chunk: list[str]) -> tuple[list[str], dict[str, dict[str, Series]] | AzureError]:
        try:
            return chunk, _query(chunk, namespace, metrics, timespan, grain)
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
