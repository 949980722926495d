"""A site's blueprint: what it takes to build another site like it (a standby in the paired
region), read from a running site, and the calls that build one from it.

Read while the primary region answers: the site (kind, HTTPS only, client certificates, its
user-assigned identities, tags), its configuration (runtime and every security-relevant
setting), its app settings and its plan's SKU. Built during an outage: the plan (a PUT that
App Service answers as a long-running operation), then the site on it. Values are returned
exactly as App Service stores them: sorting secrets from references is the caller's rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from azure.core.polling import LROPoller
from azure.mgmt.web import models as web_models

from portal.azure import lro
from portal.azure.clients import azure_clients
from portal.azure.errors import AzureNotFoundError, azure_errors
from portal.azure.resource_ids import parse
from portal.azure.web import SITE, SiteInfo, site_get

PLAN = "Microsoft.Web/serverfarms"
# Site configuration a copy must share: the runtime, and every setting that makes the site as
# hard to attack as its primary (TLS floors, FTP, remote debugging, HTTP/2, health check).
CONFIG_FIELDS = (
    "linux_fx_version",
    "windows_fx_version",
    "app_command_line",
    "always_on",
    "http20_enabled",
    "min_tls_version",
    "scm_min_tls_version",
    "ftps_state",
    "remote_debugging_enabled",
    "web_sockets_enabled",
    "use32_bit_worker_process",
    "health_check_path",
)


@dataclass(frozen=True)
class SiteBlueprint:
    """Lists and dicts, not tuples: a blueprint is kept as JSON between reading and building."""

    kind: str
    https_only: bool
    client_cert_enabled: bool
    key_vault_reference_identity: str
    identity_ids: list[str]
    # The site has its own (system-assigned) identity: a new site gets a new one, not this one.
    system_identity: bool
    tags: dict[str, str]
    # SiteConfig attribute names (CONFIG_FIELDS) to values; unset ones are left out.
    config: dict[str, Any]
    app_settings: dict[str, str]
    plan_sku_name: str
    plan_sku_tier: str
    plan_kind: str
    plan_reserved: bool
    # Filled by whoever sorts the settings: names not carried over.
    left_out: list[str] = field(default_factory=list)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value.value) if isinstance(value, Enum) else str(value)


def _plain(value: Any) -> Any:
    return _text(value) if isinstance(value, Enum) else value


def site_blueprint_read(site_id: str) -> SiteBlueprint:
    """Four reads: the site, its configuration, its app settings, its plan."""
    ref = parse(site_id, expect=SITE)
    client = azure_clients().web(ref.subscription_id)
    with azure_errors():
        site = client.web_apps.get(ref.resource_group, ref.name)
        config = client.web_apps.get_configuration(ref.resource_group, ref.name)
        settings = client.web_apps.list_application_settings(ref.resource_group, ref.name)
        props = site.properties or web_models.SiteProperties()
        farm = parse(str(props.server_farm_id), expect=PLAN)
        plan = client.app_service_plans.get(farm.resource_group, farm.name)
    config_props = config.properties or web_models.SiteConfig()
    identity = site.identity
    sku = plan.sku or web_models.SkuDescription()
    return SiteBlueprint(
        kind=site.kind or "app",
        https_only=bool(props.https_only),
        client_cert_enabled=bool(props.client_cert_enabled),
        key_vault_reference_identity=props.key_vault_reference_identity or "",
        identity_ids=sorted((identity.user_assigned_identities or {}) if identity else {}),
        system_identity="SystemAssigned" in _text(identity.type if identity else None),
        tags={str(k): str(v) for k, v in (site.tags or {}).items()},
        config={
            name: _plain(getattr(config_props, name))
            for name in CONFIG_FIELDS
            if getattr(config_props, name, None) is not None
        },
        app_settings={str(k): str(v) for k, v in (settings.properties or {}).items()},
        plan_sku_name=str(sku.name or ""),
        plan_sku_tier=str(sku.tier or ""),
        plan_kind=plan.kind or "",
        plan_reserved=bool(plan.properties.reserved) if plan.properties else False,
    )


def plan_provisioning_state(plan_id: str) -> str | None:
    """The plan's provisioning state ("Succeeded", "InProgress", "Failed"), None if absent."""
    ref = parse(plan_id, expect=PLAN)
    client = azure_clients().web(ref.subscription_id)
    try:
        with azure_errors():
            plan = client.app_service_plans.get(ref.resource_group, ref.name)
    except AzureNotFoundError:
        return None
    props = plan.properties or web_models.AppServicePlanProperties()
    return _text(props.provisioning_state) or "Succeeded"


def plan_create_begin(
    *, plan_id: str, location: str, blueprint: SiteBlueprint, tags: dict[str, str]
) -> str:
    """Create a one-instance plan of the blueprint's SKU; returns the continuation token
    (wait with `scaling.plan_scale_wait`: any plan PUT's token)."""
    ref = parse(plan_id, expect=PLAN)
    client = azure_clients().web(ref.subscription_id)
    body = web_models.AppServicePlan(
        location=location,
        kind=blueprint.plan_kind or None,
        tags=dict(tags),
        sku=web_models.SkuDescription(
            name=blueprint.plan_sku_name, tier=blueprint.plan_sku_tier or None, capacity=1
        ),
        properties=web_models.AppServicePlanProperties(reserved=blueprint.plan_reserved),
    )

    def start(polling: Any) -> LROPoller[Any]:
        return client.app_service_plans.begin_create_or_update(
            ref.resource_group, ref.name, body, polling=polling
        )

    return lro.begin(start)


def site_create_from(
    *,
    site_id: str,
    plan_id: str,
    location: str,
    blueprint: SiteBlueprint,
    tags: dict[str, str],
) -> SiteInfo:
    """Create (or bring back in line) the site on `plan_id` from the blueprint: its kind,
    security settings, identities, configuration and app settings. App Service starts a new
    site; the caller stops it if it must stay stopped."""
    ref = parse(site_id, expect=SITE)
    client = azure_clients().web(ref.subscription_id)
    config = web_models.SiteConfig(
        **blueprint.config,
        app_settings=[
            web_models.NameValuePair(name=k, value=v) for k, v in blueprint.app_settings.items()
        ]
        or None,
    )
    kinds = [
        kind
        for kind, wanted in (
            ("SystemAssigned", blueprint.system_identity),
            ("UserAssigned", bool(blueprint.identity_ids)),
        )
        if wanted
    ]
    identity = (
        web_models.ManagedServiceIdentity(
            type=", ".join(kinds),
            user_assigned_identities={
                i: web_models.UserAssignedIdentity() for i in blueprint.identity_ids
            }
            or None,
        )
        if kinds
        else None
    )
    site = web_models.Site(
        location=location,
        kind=blueprint.kind,
        tags=dict(tags),
        identity=identity,
        properties=web_models.SiteProperties(
            server_farm_id=plan_id,
            https_only=blueprint.https_only,
            client_cert_enabled=blueprint.client_cert_enabled,
            key_vault_reference_identity=blueprint.key_vault_reference_identity or None,
            site_config=config,
        ),
    )
    with azure_errors():
        client.web_apps.begin_create_or_update(ref.resource_group, ref.name, site).result()
    return site_get(site_id)
