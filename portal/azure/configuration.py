"""Configuration reads for the daily posture check: a site's config, app settings and
connection strings; a server's TLS floor, auditing and TDE protector; a database's auditing,
TDE state and backup retention policies. One call each: posture is read once a day per tenant,
spread over the day, so these stay far below ARM's read limits."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from azure.mgmt.sql import models as sql_models
from azure.mgmt.web import models as web_models

from portal.azure import sql as azure_sql
from portal.azure.clients import azure_clients
from portal.azure.errors import azure_errors
from portal.azure.resource_ids import parse


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value.value) if isinstance(value, Enum) else str(value)


@dataclass(frozen=True)
class SiteConfiguration:
    https_only: bool | None
    min_tls_version: str
    always_on: bool | None
    health_check_path: str
    app_settings: dict[str, str]
    # name → (type, value): what the app uses to reach its data.
    connection_strings: dict[str, tuple[str, str]]


def site_configuration(site_id: str) -> SiteConfiguration:
    ref = parse(site_id, expect="Microsoft.Web/sites")
    client = azure_clients().web(ref.subscription_id)
    with azure_errors():
        site = client.web_apps.get(ref.resource_group, ref.name)
        config = client.web_apps.get_configuration(ref.resource_group, ref.name)
        settings = client.web_apps.list_application_settings(ref.resource_group, ref.name)
        strings = client.web_apps.list_connection_strings(ref.resource_group, ref.name)
    props = config.properties or web_models.SiteConfig()
    site_props = site.properties or web_models.SiteProperties()
    return SiteConfiguration(
        https_only=site_props.https_only,
        min_tls_version=_text(props.min_tls_version),
        always_on=props.always_on,
        health_check_path=props.health_check_path or "",
        app_settings=dict(settings.properties or {}),
        connection_strings={
            name: (_text(pair.type), pair.value or "")
            for name, pair in (strings.properties or {}).items()
        },
    )


@dataclass(frozen=True)
class ServerConfiguration:
    minimal_tls_version: str
    auditing_state: str
    # "AzureKeyVault" (customer-managed) or "ServiceManaged".
    protector_type: str
    protector_uri: str


def server_configuration(server_id: str) -> ServerConfiguration:
    ref = parse(server_id, expect="Microsoft.Sql/servers")
    client = azure_clients().sql(ref.subscription_id)
    with azure_errors():
        server = client.servers.get(ref.resource_group, ref.name)
        auditing = client.server_blob_auditing_policies.get(ref.resource_group, ref.name)
    protector = azure_sql.encryption_protector(server_id)
    server_props = server.properties or sql_models.ServerProperties()
    audit_props = auditing.properties
    return ServerConfiguration(
        minimal_tls_version=_text(server_props.minimal_tls_version),
        auditing_state=_text(audit_props.state) if audit_props else "Disabled",
        protector_type=protector.server_key_type,
        protector_uri=protector.uri or "",
    )


@dataclass(frozen=True)
class DatabaseConfiguration:
    auditing_state: str
    tde_state: str
    pitr_days: int | None
    ltr: azure_sql.LtrPolicy


def database_configuration(database_id: str) -> DatabaseConfiguration:
    ref = parse(database_id, expect="Microsoft.Sql/servers/databases")
    client = azure_clients().sql(ref.subscription_id)
    server, name = ref.name_of("servers"), ref.name
    with azure_errors():
        tde = client.transparent_data_encryptions.get(ref.resource_group, server, name, "current")
        short = client.backup_short_term_retention_policies.get(
            ref.resource_group, server, name, "default"
        )
    auditing = azure_sql.database_auditing_get(database_id)
    ltr = azure_sql.ltr_policy_get(database_id)
    tde_props = tde.properties
    short_props = short.properties
    return DatabaseConfiguration(
        auditing_state=auditing.state,
        tde_state=_text(tde_props.state) if tde_props else "",
        pitr_days=short_props.retention_days if short_props else None,
        ltr=ltr,
    )
