"""Disaster recovery to the paired region: what stands ready in Australia Southeast.

Reads are subscription- or server-scope lists (one call per subscription or server, not per
tenant). Returns our frozen dataclasses; SDK errors surface as our AzureError subclasses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from azure.mgmt.sql import models as sql_models
from azure.mgmt.web import models as web_models

from portal.azure import sql
from portal.azure.clients import azure_clients
from portal.azure.errors import azure_errors
from portal.azure.resource_ids import parse

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


# -- geo-restore onto the paired server ----------------------------------------------------------


@dataclass(frozen=True)
class RecoverableDatabase:
    """A database's newest geo-replicated backup: what a geo-restore (createMode Recovery)
    returns. Geo backups live in the paired region, so Azure lists them during an outage of the
    primary region too."""

    id: str
    database_name: str
    last_backup_at: datetime | None
    # The Key Vault key versions that backup needs (database-level keys only; else empty).
    key_uris: tuple[str, ...]


def recoverable_database(server_id: str, database_name: str) -> RecoverableDatabase:
    """The geo backup of one database of `server_id` (the primary server), with its keys;
    AzureNotFoundError when Azure has none."""
    ref = parse(server_id, expect=sql.SERVER)
    client = azure_clients().sql(ref.subscription_id)
    with azure_errors():
        found = client.recoverable_databases.get(
            ref.resource_group, ref.name, database_name, expand="keys"
        )
    props = found.properties or sql_models.RecoverableDatabaseProperties()
    when = props.last_available_backup_date
    return RecoverableDatabase(
        id=str(found.id),
        database_name=str(found.name),
        last_backup_at=when.astimezone(UTC) if when else None,
        key_uris=tuple(sorted((props.keys_property or {}).keys())),
    )


def geo_restore_begin(
    *,
    recoverable: RecoverableDatabase,
    target_id: str,
    location: str,
    elastic_pool_id: str | None,
    tags: Mapping[str, str],
    identity_ids: Sequence[str] = (),
    encryption_protector: str | None = None,
) -> str:
    """Start a geo-restore of `recoverable` into the new database `target_id` on the paired
    server; returns the continuation token for `sql.database_restore_wait`.

    As for any restore, Azure carries neither tags nor a database-level key across: a tenant
    with its own key passes its identities and protector, and the versions the geo backup
    needs (`recoverable.key_uris`) go with them, or the copy would come back under the paired
    server's encryption.
    """
    return sql.database_restore_begin(
        target_id=target_id,
        location=location,
        create_mode="Recovery",
        recoverable_database_id=recoverable.id,
        elastic_pool_id=elastic_pool_id,
        tags=tags,
        identity_ids=identity_ids if encryption_protector else (),
        key_uris=recoverable.key_uris if encryption_protector else (),
        encryption_protector=encryption_protector,
    )
