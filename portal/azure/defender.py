"""Defender for Cloud reads for the fleet refresh: every alert of a subscription in one list,
and the subscription's Defender plans (pricings). Triage (state changes) is in defender_alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from portal.azure.clients import azure_clients
from portal.azure.errors import azure_errors


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value.value) if isinstance(value, Enum) else str(value)


@dataclass(frozen=True)
class AlertRow:
    id: str
    name: str
    display_name: str
    alert_type: str
    severity: str
    status: str
    generated_at: datetime
    description: str
    remediation: tuple[str, ...]
    # The Azure resources the alert is about (AzureResource identifiers only).
    resource_ids: tuple[str, ...]


def alerts_list(subscription_id: str) -> list[AlertRow]:
    """Every Defender alert in the subscription (subscription- and resource-group level)."""
    client = azure_clients().security(subscription_id)
    rows = []
    with azure_errors():
        for alert in client.alerts.list():
            identifiers = alert.resource_identifiers or []
            generated = alert.time_generated_utc or alert.start_time_utc or datetime.now(UTC)
            rows.append(
                AlertRow(
                    id=str(alert.id),
                    name=str(alert.name),
                    display_name=alert.alert_display_name or str(alert.name),
                    alert_type=alert.alert_type or "",
                    severity=_text(alert.severity),
                    status=_text(alert.status),
                    generated_at=generated,
                    description=alert.description or "",
                    remediation=tuple(alert.remediation_steps or ()),
                    resource_ids=tuple(
                        str(i.azure_resource_id)
                        for i in identifiers
                        if getattr(i, "azure_resource_id", None)
                    ),
                )
            )
    return rows


def pricings(subscription_id: str) -> dict[str, str]:
    """The subscription's Defender plans: plan name (`SqlServers`, `AppServices`, ...) →
    pricing tier (`Standard` = on, `Free` = off)."""
    client = azure_clients().security(subscription_id)
    with azure_errors():
        found = client.pricings.list(f"subscriptions/{subscription_id}")
    return {str(p.name): _text(p.pricing_tier) for p in (found.value or [])}


def alerts_in_resource_group(subscription_id: str, resource_group: str) -> int:
    """How many alerts a resource group holds (one ARM read per group: the per-tenant way)."""
    client = azure_clients().security(subscription_id)
    with azure_errors():
        return sum(1 for _ in client.alerts.list_by_resource_group(resource_group))


@dataclass(frozen=True)
class RecommendationRow:
    """One Unhealthy Defender assessment (a recommendation not met by one resource)."""

    resource_id: str
    key: str
    name: str
    severity: str
    description: str
    remediation: str


def recommendation_metadata(subscription_id: str) -> dict[str, tuple[str, str, str]]:
    """Every built-in recommendation: key → (severity, description, remediation). The list is
    cloud-wide (any subscription's client reads it); assessments carry only the key, their
    name and status."""
    client = azure_clients().security(subscription_id)
    with azure_errors():
        return {
            str(m.name).lower(): (
                _text(m.severity),
                m.description or "",
                m.remediation_description or "",
            )
            for m in client.assessments_metadata.list()
        }


def unhealthy_assessments(
    subscription_id: str, metadata: dict[str, tuple[str, str, str]]
) -> list[RecommendationRow]:
    """The subscription's Unhealthy assessments in one list (not one call per resource),
    joined with the recommendation's metadata by key."""
    client = azure_clients().security(subscription_id)
    rows = []
    with azure_errors():
        for item in client.assessments.list(f"subscriptions/{subscription_id}"):
            if item.status is None or _text(item.status.code) != "Unhealthy":
                continue
            resource_id = str(getattr(item.resource_details, "id", "") or "")
            severity, description, remediation = metadata.get(str(item.name).lower(), ("", "", ""))
            rows.append(
                RecommendationRow(
                    resource_id=resource_id,
                    key=str(item.name),
                    name=item.display_name or str(item.name),
                    severity=severity,
                    description=description or (item.status.description or ""),
                    remediation=remediation,
                )
            )
    return rows
