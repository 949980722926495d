"""Active geo-replication of Azure SQL databases: geo-secondaries, replication links, failover.

A geo-secondary has its primary's name on another server (any region) and follows it
asynchronously. Azure describes the pair as one replication link, listed on both databases,
with the same link name on each side; `role` says which side the database is on. Failover is
issued on the secondary and is long-running: a planned failover needs both sides reachable
and the link caught up and loses nothing; a forced one (`allow_data_loss`) works while the
primary's region is down and may lose the last seconds of writes; either way the roles swap.

As in sql.py, `*_begin` returns a continuation token without waiting and `*_wait` polls it for
a bounded time from any process (lro.py). SDK errors surface only as our AzureError subclasses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from azure.core.polling import LROPoller
from azure.mgmt.sql import SqlManagementClient
from azure.mgmt.sql import models as sql_models

from portal.azure import lro
from portal.azure.clients import azure_clients
from portal.azure.errors import azure_errors
from portal.azure.lro import LroOutcome
from portal.azure.resource_ids import ResourceId, parse
from portal.azure.sql import DATABASE, SERVER

CAUGHT_UP = "CATCH_UP"


@dataclass(frozen=True)
class ReplicationLink:
    """One side's view of a replication link (Azure's `ReplicationLink`)."""

    id: str
    # The link's name (a GUID, the same on both sides): pass it to `failover_begin`.
    name: str
    # The database whose link this is (the parent of `id`).
    database_id: str
    partner_database_id: str
    # The partner's server name and location, as Azure reports them.
    partner_server: str
    partner_location: str
    # "Primary" or "Secondary": this database's side, and the partner's.
    role: str
    partner_role: str
    # SEEDING while the secondary is created, CATCH_UP once it follows the primary,
    # SUSPENDED while the partner cannot be reached.
    state: str
    percent_complete: int
    termination_allowed: bool

    @property
    def caught_up(self) -> bool:
        return self.state == CAUGHT_UP


def _database(database_id: str) -> tuple[SqlManagementClient, str, str, str]:
    """(client, resource group, server, database) for a database id."""
    ref: ResourceId = parse(database_id, expect=DATABASE)
    client = azure_clients().sql(ref.subscription_id)
    return client, ref.resource_group, ref.name_of("servers"), ref.name


def _text(value: Any) -> str:
    """Enum-valued fields come back as str-enums (plain str for values the SDK does not know)."""
    if value is None:
        return ""
    return str(value.value) if isinstance(value, Enum) else str(value)


def _link(link: sql_models.ReplicationLink) -> ReplicationLink:
    props = link.properties or sql_models.ReplicationLinkProperties()
    link_id = str(link.id)
    return ReplicationLink(
        id=link_id,
        name=str(link.name),
        database_id=link_id.rsplit("/replicationLinks/", 1)[0],
        partner_database_id=props.partner_database_id or "",
        partner_server=props.partner_server or "",
        partner_location=props.partner_location or "",
        role=_text(props.role),
        partner_role=_text(props.partner_role),
        state=_text(props.replication_state),
        percent_complete=int(props.percent_complete or 0),
        termination_allowed=bool(props.is_termination_allowed),
    )


def geo_secondary_begin(
    *,
    primary_database_id: str,
    secondary_server_id: str,
    location: str,
    elastic_pool_id: str | None,
    tags: Mapping[str, str],
    identity_ids: Sequence[str] = (),
    encryption_protector: str | None = None,
) -> str:
    """Start creating a geo-secondary of the primary on `secondary_server_id`; returns the
    continuation token. The secondary has the primary's name (Azure requires it), so its id is
    `<secondary_server_id>/databases/<primary name>`: wait with
    `sql.database_restore_wait(target_id=<that id>, ...)`, which ends once it is seeded.

    For a primary with a database-level key pass its identities and protector: the secondary
    must hold the primary's key material (Azure refuses with
    SameKeyMaterialNotFoundOnRemoteServer otherwise, unless its server holds the key). Tags are
    not copied: pass them.

    Not retried inside the SDK, as for restores (sql.database_restore_begin): after an
    AzureTransientError check by name (`sql.database_find`) whether it started before retrying.
    """
    primary = parse(primary_database_id, expect=DATABASE)
    server = parse(secondary_server_id, expect=SERVER)
    client, group, server_name, name = _database(str(server.child("databases", primary.name)))
    identity = (
        sql_models.DatabaseIdentity(
            type="UserAssigned",
            user_assigned_identities={i: sql_models.DatabaseUserIdentity() for i in identity_ids},
        )
        if identity_ids and encryption_protector
        else None
    )
    properties = sql_models.DatabaseProperties(
        create_mode="Secondary",
        secondary_type="Geo",
        source_database_id=primary_database_id,
        elastic_pool_id=elastic_pool_id,
        keys_property={encryption_protector: sql_models.DatabaseKey()}
        if encryption_protector
        else None,
        encryption_protector=encryption_protector,
    )
    parameters = sql_models.Database(
        location=location, tags=dict(tags), properties=properties, identity=identity
    )

    def start(polling: Any) -> LROPoller[Any]:
        return client.databases.begin_create_or_update(
            group, server_name, name, parameters, polling=polling, retry_status=0
        )

    return lro.begin(start)


def replication_links(database_id: str) -> list[ReplicationLink]:
    """The database's replication links (empty if it is not geo-replicated)."""
    client, group, server, name = _database(database_id)
    with azure_errors():
        found = [
            _link(link) for link in client.replication_links.list_by_database(group, server, name)
        ]
    return sorted(found, key=lambda link: link.name)


def failover_begin(*, secondary_database_id: str, link_name: str, allow_data_loss: bool) -> str:
    """Start failing the link over to `secondary_database_id` (issued on the secondary);
    returns the continuation token for `failover_wait`.

    Planned (`allow_data_loss=False`): Azure refuses unless the link is caught up and the
    primary is reachable (PlannedFailoverTimedOut during its region's outage). Forced: works
    while the primary's region is down; the last seconds of writes may be lost. Azure refuses
    either on the primary (GeoReplicationDatabaseNotSecondary) and during seeding
    (IncorrectReplicationLinkState). Not retried inside the SDK: a failover re-sent after an
    accepted one would be refused as busy and hide it; check `replication_links` first.
    """
    client, group, server, name = _database(secondary_database_id)
    operations = client.replication_links
    begin = (
        operations.begin_failover_allow_data_loss if allow_data_loss else operations.begin_failover
    )

    def start(polling: Any) -> LROPoller[Any]:
        return begin(group, server, name, link_name, polling=polling, retry_status=0)

    return lro.begin(start)


def failover_wait(
    *, secondary_database_id: str, link_name: str, continuation_token: str, timeout_seconds: float
) -> LroOutcome:
    """Poll a failover begun by `failover_begin` for up to `timeout_seconds`. Either kind uses
    the same status monitor, so resuming need not know which kind was begun."""
    client, group, server, name = _database(secondary_database_id)

    def resume(polling: Any, token: str) -> LROPoller[Any]:
        return client.replication_links.begin_failover(
            group, server, name, link_name, polling=polling, continuation_token=token
        )

    return lro.wait(resume, continuation_token, timeout_seconds=timeout_seconds)
