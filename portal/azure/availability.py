"""Resource Health at subscription scope.

Listing every resource's status would page through sites, plans, databases and pools (100 a
page); the refresh instead asks only for the states that are not Available (`$filter` on
`availabilityState`, one small list each) and treats every resource not named as Available.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from portal.azure.clients import azure_clients
from portal.azure.errors import azure_errors

NOT_AVAILABLE = ("Unavailable", "Degraded", "Unknown")
_SUFFIX = "/providers/microsoft.resourcehealth/availabilitystatuses/current"


@dataclass(frozen=True)
class AvailabilityRow:
    resource_id: str
    state: str
    summary: str
    reason_type: str
    since: datetime | None


def _resource_of(status_id: str) -> str:
    lowered = status_id.lower()
    cut = lowered.find("/providers/microsoft.resourcehealth/")
    return status_id[:cut] if cut >= 0 else status_id


def availability_not_available(subscription_id: str) -> list[AvailabilityRow]:
    """Resources in the subscription whose Resource Health is not Available."""
    client = azure_clients().health(subscription_id)
    rows = []
    with azure_errors():
        for state in NOT_AVAILABLE:
            filter_text = f"availabilityState eq '{state}'"
            for status in client.availability_statuses.list_by_subscription_id(filter=filter_text):
                props = status.properties
                if props is None:
                    continue
                value = props.availability_state
                rows.append(
                    AvailabilityRow(
                        resource_id=_resource_of(str(status.id)),
                        state=str(value.value) if isinstance(value, Enum) else str(value or ""),
                        summary=props.summary or "",
                        reason_type=props.reason_type or "",
                        since=props.occured_time,
                    )
                )
    return rows


def availability_of(resource_id: str) -> AvailabilityRow:
    """One resource's current Resource Health (one ARM read: for a single tenant's page or a
    comparison, not for the fleet refresh)."""
    subscription = resource_id.strip("/").split("/")[1]
    client = azure_clients().health(subscription)
    with azure_errors():
        status = client.availability_statuses.get_by_resource(resource_id)
    props = status.properties
    value = props.availability_state if props else None
    return AvailabilityRow(
        resource_id=resource_id,
        state=str(value.value) if isinstance(value, Enum) else str(value or ""),
        summary=(props.summary or "") if props else "",
        reason_type=(props.reason_type or "") if props else "",
        since=props.occured_time if props else None,
    )
