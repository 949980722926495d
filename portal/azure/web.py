"""App Service sites: state and health-check settings, stop and start (the in-place swap's
maintenance window)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web import models as web_models

from portal.azure.clients import azure_clients
from portal.azure.errors import azure_errors
from portal.azure.resource_ids import ResourceId, parse

SITE = "Microsoft.Web/sites"


@dataclass(frozen=True)
class SiteInfo:
    id: str
    name: str
    location: str
    # "Running" or "Stopped" (a free string in the API).
    state: str
    # "Normal", "Limited" or "DisasterRecoveryMode": App Service's own view, not the app's health.
    availability_state: str
    enabled: bool
    host_names: tuple[str, ...]
    default_host_name: str
    server_farm_id: str
    # Relative path App Service pings (siteConfig.healthCheckPath); None when no check is set.
    health_check_path: str | None

    @property
    def is_running(self) -> bool:
        return self.state == "Running"


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value.value) if isinstance(value, Enum) else str(value)


def _site(site_id: str) -> tuple[WebSiteManagementClient, ResourceId]:
    parsed = parse(site_id, expect=SITE)
    return azure_clients().web(parsed.subscription_id), parsed


def site_get(site_id: str) -> SiteInfo:
    """The site with its health check path; AzureNotFoundError if it does not exist."""
    client, ref = _site(site_id)
    with azure_errors():
        site = client.web_apps.get(ref.resource_group, ref.name)
        # GET site leaves most of siteConfig empty (healthCheckPath included): Azure fills it
        # only on the config resource.
        config = client.web_apps.get_configuration(ref.resource_group, ref.name)
    props = site.properties or web_models.SiteProperties()
    config_props = config.properties or web_models.SiteConfig()
    return SiteInfo(
        id=str(site.id),
        name=str(site.name),
        location=str(site.location),
        state=props.state or "",
        availability_state=_text(props.availability_state),
        enabled=bool(props.enabled),
        host_names=tuple(props.host_names or ()),
        default_host_name=props.default_host_name or "",
        server_farm_id=props.server_farm_id or "",
        health_check_path=config_props.health_check_path or None,
    )


def site_stop(site_id: str) -> None:
    """Stop the app (synchronous; stopping a stopped app is a no-op, as in Azure)."""
    client, ref = _site(site_id)
    with azure_errors():
        client.web_apps.stop(ref.resource_group, ref.name)


def site_start(site_id: str) -> None:
    """Start the app (synchronous; starting a running app is a no-op)."""
    client, ref = _site(site_id)
    with azure_errors():
        client.web_apps.start(ref.resource_group, ref.name)
