"""Defender for Cloud alert triage: dismiss, resolve or reactivate one alert (alerts 2022-01-01).

An alert lives either at subscription level or in a resource group, and its id says which; the
Security API has one state-change call per level and per state, so the id decides the method.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from portal.azure.clients import azure_clients
from portal.azure.errors import azure_errors


class AlertStateChange(StrEnum):
    """The state changes the portal makes (value: the SDK method's suffix)."""

    DISMISS = "dismiss"
    RESOLVE = "resolve"
    ACTIVATE = "activate"

    @property
    def status(self) -> str:
        """Defender's status once the change is made."""
        return {"dismiss": "Dismissed", "resolve": "Resolved", "activate": "Active"}[self.value]


@dataclass(frozen=True)
class AlertRef:
    """Where an alert lives: `/subscriptions/{s}[/resourceGroups/{g}]/providers/
    Microsoft.Security/locations/{asc}/alerts/{name}`."""

    subscription_id: str
    resource_group: str | None
    asc_location: str
    name: str


def parse_alert_id(alert_id: str) -> AlertRef:
    """ValueError for anything that is not a Defender alert id (ids come from our snapshots)."""
    parts = alert_id.strip().strip("/").split("/")
    lowered = [p.lower() for p in parts]
    group: str | None = None
    rest = lowered[2:]
    if rest[:1] == ["resourcegroups"] and len(parts) > 3:
        group = parts[3]
        rest = lowered[4:]
    tail = ["providers", "microsoft.security", "locations"]
    if (
        len(parts) < 2
        or lowered[0] != "subscriptions"
        or rest[:3] != tail
        or len(rest) != 6
        or rest[4] != "alerts"
        or not all(parts)
    ):
        raise ValueError(f"Not a Defender alert id: {alert_id!r}")
    return AlertRef(
        subscription_id=parts[1],
        resource_group=group,
        asc_location=parts[-3],
        name=parts[-1],
    )


def alert_state_change(*, alert_id: str, change: AlertStateChange) -> None:
    """Change the alert's state in Defender (204, no body); AzureNotFoundError if it is gone."""
    ref = parse_alert_id(alert_id)
    alerts = azure_clients().security(ref.subscription_id).alerts
    with azure_errors():
        if ref.resource_group is None:
            method = getattr(alerts, f"update_subscription_level_state_to_{change.value}")
            method(ref.asc_location, ref.name)
        else:
            method = getattr(alerts, f"update_resource_group_level_state_to_{change.value}")
            method(ref.resource_group, ref.asc_location, ref.name)
