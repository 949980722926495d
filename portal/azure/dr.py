"""Disaster recovery to the paired region: what stands ready in Australia Southeast.

Reads are subscription- or server-scope lists (one call per subscription or server, not per
tenant). Returns our frozen dataclasses; SDK errors surface as our AzureError subclasses.
"""

from __future__ import annotations

from dataclasses import dataclass

from azure.mgmt.web import models as web_models

from portal.azure.clients import azure_clients
from portal.azure.errors import azure_errors

PAIRED_REGION = "australiasoutheast"
TENANT_TAG = "fleetwise-tenant"
ROLE_TAG = "fleetwise-role"


def region_key(location: str) -> str:
    """ARM answers "Australia Southeast" for sites and "australiasoutheast" for SQL."""
    return location.replace(" ", "").lower()


@dataclass(frozen=True)
class StandbySite:
    id: str
    name: str
    tenant_slug: str
    location: str
    state: str
    server_farm_id: str


def standby_sites(subscription_id: str) -> list[StandbySite]:
    """Sites of the subscription in the paired region tagged with a tenant: each tenant's
    standby App Service (stopped until a drill or failover starts it)."""
    client = azure_clients().web(subscription_id)
    with azure_errors():
        sites = list(client.web_apps.list())
    found = []
    for site in sites:
        tags = site.tags or {}
        if region_key(str(site.location)) != PAIRED_REGION or not tags.get(TENANT_TAG):
            continue
        props = site.properties or web_models.SiteProperties()
        found.append(
            StandbySite(
                id=str(site.id),
                name=str(site.name),
                tenant_slug=tags[TENANT_TAG],
                location=str(site.location),
                state=props.state or "",
                server_farm_id=props.server_farm_id or "",
            )
        )
    return sorted(found, key=lambda s: s.name.lower())
