"""Azure Monitor metrics, read through azure-mgmt-monitor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal.azure.clients import azure_clients
from portal.azure.errors import azure_errors
from portal.azure.resource_ids import parse


def metric_latest(
    resource_id: str, metric: str, *, lookback: timedelta = timedelta(hours=1)
) -> float | None:
    """The newest Maximum of `metric` for the resource over `lookback`, or None if no data.

    One ARM read per call: fine for a pre-flight check; the fleet refresh uses the batch API.
    """
    subscription = parse(resource_id).subscription_id
    end = datetime.now(UTC)
    start = end - lookback
    client = azure_clients().monitor(subscription)
    with azure_errors():
        result = client.metrics.list(
            resource_id,
            timespan=f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}",
            interval="PT5M",
            metricnames=metric,
            aggregation="Maximum",
        )
    latest: float | None = None
    for series_metric in result.value or []:
        for series in series_metric.timeseries or []:
            for point in series.data or []:
                if point.maximum is not None:
                    latest = float(point.maximum)
    return latest
