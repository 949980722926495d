"""App Service sites as disaster recovery uses them: create or update a site, its app settings
and connection strings, delete it, and probe whether it answers.

Settings are returned and written as plain dicts of names to values, exactly as App Service
stores them: a Key Vault reference (`@Microsoft.KeyVault(SecretUri=...)`) is a value like any
other and is never resolved here (App Service resolves it inside the running app).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from azure.mgmt.web import models as web_models

from portal.azure.availability import availability_of
from portal.azure.errors import AzureNotFoundError, azure_errors
from portal.azure.web import SiteInfo, _site, site_get

KEY_VAULT_REFERENCE = "@Microsoft.KeyVault("


@dataclass(frozen=True)
class ConnectionString:
    value: str
    # App Service's type: "SQLAzure", "Custom", ...
    type: str


@dataclass(frozen=True)
class SiteProbe:
    """Whether a site answers: running, and Resource Health says Available (App Service's own
    health check pings the app's healthCheckPath and reports through Resource Health)."""

    site_id: str
    state: str
    availability: str
    summary: str

    @property
    def answers(self) -> bool:
        return self.state == "Running" and self.availability == "Available"

    def words(self) -> str:
        if self.answers:
            return "The app is running and answers its health check."
        if self.state != "Running":
            return f"The app is {self.state.lower() or 'in an unknown state'}."
        return f"The app runs but Resource Health says {self.availability}: {self.summary}"


def is_key_vault_reference(value: str) -> bool:
    return value.strip().startswith(KEY_VAULT_REFERENCE)


def site_create_or_update(
    *,
    site_id: str,
    location: str,
    server_farm_id: str,
    tags: Mapping[str, str],
    app_settings: Mapping[str, str] | None = None,
    connection_strings: Mapping[str, ConnectionString] | None = None,
) -> SiteInfo:
    """Create the site on an existing plan (it starts running, as App Service starts a new
    site), or update an existing one's plan and tags. Settings given here replace the site's."""
    client, ref = _site(site_id)
    config = None
    if app_settings is not None or connection_strings is not None:
        config = web_models.SiteConfig(
            app_settings=[
                web_models.NameValuePair(name=k, value=v) for k, v in (app_settings or {}).items()
            ]
            or None,
            connection_strings=[
                web_models.ConnStringInfo(name=k, connection_string=c.value, type=c.type)
                for k, c in (connection_strings or {}).items()
            ]
            or None,
        )
    site = web_models.Site(
        location=location,
        tags=dict(tags),
        properties=web_models.SiteProperties(server_farm_id=server_farm_id, site_config=config),
    )
    with azure_errors():
        client.web_apps.begin_create_or_update(ref.resource_group, ref.name, site).result()
    return site_get(site_id)


def site_delete(site_id: str, *, with_empty_plan: bool = False) -> bool:
    """Delete the site (its plan stays unless `with_empty_plan` and no other site is on it);
    False if it was already gone."""
    client, ref = _site(site_id)
    try:
        with azure_errors():
            client.web_apps.delete(
                ref.resource_group, ref.name, delete_empty_server_farm=with_empty_plan or None
            )
    except AzureNotFoundError:
        return False
    return True


def app_settings_get(site_id: str) -> dict[str, str]:
    client, ref = _site(site_id)
    with azure_errors():
        found = client.web_apps.list_application_settings(ref.resource_group, ref.name)
    return {str(k): str(v) for k, v in (found.properties or {}).items()}


def app_settings_set(site_id: str, settings: Mapping[str, str]) -> None:
    """Replace the site's app settings with `settings` (App Service restarts the app)."""
    client, ref = _site(site_id)
    with azure_errors():
        client.web_apps.update_application_settings(
            ref.resource_group, ref.name, web_models.StringDictionary(properties=dict(settings))
        )


def connection_strings_get(site_id: str) -> dict[str, ConnectionString]:
    client, ref = _site(site_id)
    with azure_errors():
        found = client.web_apps.list_connection_strings(ref.resource_group, ref.name)
    return {
        str(name): ConnectionString(value=pair.value or "", type=_text(pair.type) or "Custom")
        for name, pair in (found.properties or {}).items()
    }


def connection_strings_set(site_id: str, strings: Mapping[str, ConnectionString]) -> None:
    """Replace the site's connection strings (App Service restarts the app)."""
    client, ref = _site(site_id)
    body = web_models.ConnectionStringDictionary(
        properties={
            name: web_models.ConnStringValueTypePair(value=c.value, type=c.type)
            for name, c in strings.items()
        }
    )
    with azure_errors():
        client.web_apps.update_connection_strings(ref.resource_group, ref.name, body)


def site_probe(site_id: str) -> SiteProbe:
    """Two reads: the site's state and its Resource Health."""
    site = site_get(site_id)
    health = availability_of(site.id)
    return SiteProbe(
        site_id=site.id, state=site.state, availability=health.state, summary=health.summary
    )


def _text(value: object) -> str:
    if value is None:
        return ""
    return str(value.value) if isinstance(value, Enum) else str(value)
