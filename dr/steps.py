"""Steps that bring a tenant up in Australia Southeast, shared by the drill and the failover.

Each takes the step's context and a `StandbyTarget` (chosen when the operation is requested and
kept in its parameters) and is idempotent: a step run again after a worker was killed finds
what its earlier run did (the restore's target by name, the settings it saved) and carries on.
What each learns goes into the operation's checkpoint under the keys named below, so a kind
reading them (RTO/RPO for a drill, "where the tenant runs" for a failover) need not ask Azure.

Connection settings: the fleet's apps reach their database with their managed identity
(`Authentication=Active Directory Managed Identity`), so the connection string written to the
standby names a server and a database and holds no secret. Any other setting of the standby
(Key Vault references included) is left exactly as it was. The portal records only the
previous value of the connection string it replaces, and refuses to touch a standby whose
connection string holds a plain password (it would have to be copied into the portal's
database to be put back).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from dr import restore_pace
from dr.models import DrReadiness
from operations.context import StepContext, StepFailedError
from operations.kinds import StepResult, Wait
from portal.azure import dr as azure_dr
from portal.azure import replication, sites, sql, web
from portal.azure.errors import AzureNotFoundError, AzureOperationError
from portal.resource_ids import name_of
from tenants.models import Tenant

# The connection string the fleet's app reads (as the primary sites carry it).
CONNECTION_NAME = "FleetwiseDb"
# How long `verify` lets a started app and a restored database take to report healthy.
VERIFY_SECONDS = 180.0
_SECRET = re.compile(r"(^|;)\s*(password|pwd|accountkey|sharedaccesskey)\s*=", re.IGNORECASE)

# Checkpoint keys (read by the kinds that use these steps).
GEO_BACKUP_AT = "geo_backup_at"  # ISO time of the geo backup restored (the RPO point)
RESTORE_TOKEN = "geo_restore_token"  # noqa: S105 - a continuation token's key, not a secret
RESTORE_BEGUN = "geo_restore_begun"
STANDBY_BEFORE = "standby_before"  # {"state": ..., "connection": {...} | None}
HEALTHY_AT = "healthy_at"  # ISO time the app and database were first seen healthy
LINK_FAILOVER_BEGUN = "link_failover_begun"
LINK_FAILOVER = "link_failover"  # {"link": name, "token": continuation token or None}


@dataclass(frozen=True)
class StandbyTarget:
    """Where and under which name a tenant's database is geo-restored, and which standby site
    is pointed at it."""

    primary_server_id: str
    database_name: str
    paired_server_id: str
    target_name: str
    location: str
    elastic_pool_id: str
    standby_site_id: str
    # The tenant's own TDE key (database level), passed so the copy keeps it; empty/None when
    # the database uses its server's key.
    identity_ids: list[str] = field(default_factory=list)
    encryption_protector: str | None = None
    # Without a standby site: how to build it (dr.standby.StandbyRecipe as JSON).
    standby_recipe: dict[str, Any] = field(default_factory=dict)

    @property
    def target_id(self) -> str:
        return f"{self.paired_server_id}/databases/{self.target_name}"

    @property
    def server_host(self) -> str:
        return f"{name_of(self.paired_server_id)}.database.windows.net"


def look_again_seconds() -> float:
    return float(settings.OPERATIONS_WAIT_SECONDS)


def connection_value(target: StandbyTarget) -> str:
    """The standby's connection string to the restored database (managed identity: no secret)."""
    return (
        f"Server=tcp:{target.server_host},1433;Initial Catalog={target.target_name};"
        "Authentication=Active Directory Managed Identity;Encrypt=True;"
    )


def _elapsed(context: StepContext) -> str:
    started = context.step.started_at or timezone.now()
    return f"{(timezone.now() - started).total_seconds():.0f} s so far"


# -- geo-restore ---------------------------------------------------------------------------------


def geo_restore(context: StepContext, target: StandbyTarget, *, tags: dict[str, str]) -> StepResult:
    """Begin the geo-restore into `target.target_name` unless a database of that name already
    exists (an earlier run began it), then look once per visit until Azure says it is done."""
    if not context.get(RESTORE_BEGUN):
        if sql.database_find(target.paired_server_id, target.target_name) is None:
            recoverable = azure_dr.recoverable_database(
                target.primary_server_id, target.database_name
            )
            # Saved before beginning: a run that dies right after Azure accepts the restore
            # still leaves the point it restores to (the RPO) behind.
            when = recoverable.last_backup_at
            context.save(**{GEO_BACKUP_AT: when.isoformat() if when else None})
            token = azure_dr.geo_restore_begin(
                recoverable=recoverable,
                target_id=target.target_id,
                location=target.location,
                elastic_pool_id=target.elastic_pool_id,
                tags=tags,
                identity_ids=tuple(target.identity_ids),
                encryption_protector=target.encryption_protector,
            )
            context.save(**{RESTORE_BEGUN: True, RESTORE_TOKEN: token})
        else:
            # Begun by a run that died before recording it: never begin a second restore.
            context.save(**{RESTORE_BEGUN: True, RESTORE_TOKEN: None})
    token = context.get(RESTORE_TOKEN)
    if token:
        outcome = sql.database_restore_wait(
            target_id=target.target_id, continuation_token=token, timeout_seconds=0
        )
        if outcome.done and not outcome.succeeded:
            raise StepFailedError(outcome.error_message, code=outcome.error_code)
        if outcome.done:
            return f"{target.target_name} geo-restored onto {name_of(target.paired_server_id)}."
    else:
        copy = sql.database_find(target.paired_server_id, target.target_name)
        if copy is None:
            raise StepFailedError(
                f"The geo-restore into {target.target_name} disappeared.", code="RestoreVanished"
            )
        if copy.is_online:
            return f"{target.target_name} geo-restored onto {name_of(target.paired_server_id)}."
    return Wait(
        _restore_look_again(context),
        f"Geo-restoring into {target.target_name}… {_elapsed(context)}.",
    )


def _restore_look_again(context: StepContext) -> float:
    started = context.step.started_at or timezone.now()
    return restore_pace.next_look_seconds(
        elapsed=(timezone.now() - started).total_seconds(),
        expected=restore_pace.sibling_restore_seconds(context),
        longest=look_again_seconds(),
    )


# -- failover of a replication link ----------------------------------------------------------


def link_failover(context: StepContext, secondary_id: str) -> StepResult:
    """Fail the database's replication link over to its geo-secondary `secondary_id`, data loss
    allowed (the primary's region is down), then look once per visit until Azure says done.

    Begun at most once: a run that died after Azure accepted finds the link already swapped
    (the secondary is Primary) or the failover still running (Azure refuses a second one as
    ConflictingDatabaseOperation, which here means "look again")."""
    name = name_of(secondary_id)
    state = context.get(LINK_FAILOVER) or {}
    if state.get("token"):
        outcome = replication.failover_wait(
            secondary_database_id=secondary_id,
            link_name=state["link"],
            continuation_token=state["token"],
            timeout_seconds=0,
        )
        if outcome.done and not outcome.succeeded:
            raise StepFailedError(outcome.error_message, code=outcome.error_code)
        if outcome.done:
            return f"{name} on {name_of(secondary_id.split('/databases/')[0])} is now the primary."
        return Wait(look_again_seconds(), f"Failing over to {name}… {_elapsed(context)}.")
    links = replication.replication_links(secondary_id)
    if not links:
        raise StepFailedError(
            f"{name} on {name_of(secondary_id.split('/databases/')[0])} has no replication link "
            "(is it still a geo-secondary?); nothing was changed.",
            code="NoReplicationLink",
        )
    link = links[0]
    if link.role == "Primary":
        return f"{name} on {name_of(secondary_id.split('/databases/')[0])} is now the primary."
    context.save(**{LINK_FAILOVER_BEGUN: True})
    try:
        token = replication.failover_begin(
            secondary_database_id=secondary_id, link_name=link.name, allow_data_loss=True
        )
    except AzureOperationError as exc:
        if exc.code != "ConflictingDatabaseOperation":
            raise
        return Wait(look_again_seconds(), f"Failing over to {name}… {_elapsed(context)}.")
    context.save(**{LINK_FAILOVER: {"link": link.name, "token": token}})
    return Wait(look_again_seconds(), f"Failing over to {name}… {_elapsed(context)}.")


def geo_backup_at(context: StepContext) -> datetime | None:
    text = context.get(GEO_BACKUP_AT)
    return datetime.fromisoformat(text) if text else None


# -- the standby app -----------------------------------------------------------------------------


def configure_app(
    context: StepContext, target: StandbyTarget, *, before_key: str = STANDBY_BEFORE
) -> str:
    """Point the standby's connection string at the restored database, first recording what
    it had under `before_key` (once: a re-run must not record its own earlier change as
    "before"). Repatriation points the tenant's home app the same way, under its own key."""
    site_id = target.standby_site_id
    strings = sites.connection_strings_get(site_id)
    if context.get(before_key) is None:
        previous = strings.get(CONNECTION_NAME)
        if previous is not None and _SECRET.search(previous.value):
            raise StepFailedError(
                f"The standby's connection string {CONNECTION_NAME} holds a password; move it "
                "to a Key Vault reference first (the portal will not copy a secret).",
                code="SecretInSettings",
            )
        before = {
            "state": web.site_get(site_id).state,
            "connection": {"value": previous.value, "type": previous.type} if previous else None,
        }
        context.save(**{before_key: before})
    strings[CONNECTION_NAME] = sites.ConnectionString(
        value=connection_value(target), type="SQLAzure"
    )
    sites.connection_strings_set(site_id, strings)
    return f"{name_of(site_id)} now connects to {target.target_name}."


def restore_app_settings(context: StepContext, target: StandbyTarget) -> str:
    """Put the standby's connection string back as it was before `configure_app`."""
    before = context.get(STANDBY_BEFORE)
    if before is None:
        return "The standby's settings were not changed."
    strings = sites.connection_strings_get(target.standby_site_id)
    previous = before.get("connection")
    if previous is None:
        strings.pop(CONNECTION_NAME, None)
    else:
        strings[CONNECTION_NAME] = sites.ConnectionString(**previous)
    sites.connection_strings_set(target.standby_site_id, strings)
    return f"{name_of(target.standby_site_id)}'s connection settings are as they were."


def start_app(context: StepContext, target: StandbyTarget) -> str:
    web.site_start(target.standby_site_id)
    return f"{name_of(target.standby_site_id)} started."


def stop_app(context: StepContext, target: StandbyTarget) -> str:
    web.site_stop(target.standby_site_id)
    return f"{name_of(target.standby_site_id)} stopped."


def restore_app_state(context: StepContext, target: StandbyTarget) -> str:
    """Stop the standby again if it was stopped before the drill (as the seeded standbys are)."""
    before = context.get(STANDBY_BEFORE) or {}
    if before.get("state", "Stopped") == "Running":
        return f"{name_of(target.standby_site_id)} was running before; left running."
    return stop_app(context, target)


# -- verify -------------------------------------------------------------------------------------


def verify(context: StepContext, target: StandbyTarget) -> StepResult:
    """The standby answers (running, Resource Health Available) and the restored database is
    Online; waits up to VERIFY_SECONDS for both, then fails saying which is not."""
    probe = sites.site_probe(target.standby_site_id)
    try:
        status = sql.database_get(target.target_id).status
    except AzureNotFoundError:
        status = "missing"
    if probe.answers and status == "Online":
        if context.get(HEALTHY_AT) is None:
            context.save(**{HEALTHY_AT: timezone.now().isoformat()})
        return f"{probe.words()} {target.target_name} is online."
    started = context.step.started_at or timezone.now()
    if (timezone.now() - started).total_seconds() > VERIFY_SECONDS:
        raise StepFailedError(
            f"{probe.words()} The database {target.target_name} is {status}.",
            code="StandbyUnhealthy",
        )
    return Wait(
        min(look_again_seconds(), 5.0), "Waiting for the app and database to report healthy…"
    )


def healthy_at(context: StepContext) -> datetime | None:
    text = context.get(HEALTHY_AT)
    return datetime.fromisoformat(text) if text else None


def standby_target(
    *,
    tenant: Tenant,
    readiness: DrReadiness,
    target_name: str,
    live: sql.DatabaseInfo | None,
) -> StandbyTarget:
    """The target for a tenant from its readiness row (planned pool, standby site) and, when the
    primary region answers, its live database (the key a database-level CMK copy must keep).
    During an outage `live` is None and the key readiness recorded is used instead."""
    return StandbyTarget(
        primary_server_id=tenant.sql_server_id,
        database_name=name_of(tenant.database_id),
        paired_server_id=tenant.geo_sql_server_id,
        target_name=target_name,
        location=azure_dr.PAIRED_REGION,
        elastic_pool_id=readiness.paired_pool_id,
        standby_site_id=readiness.standby_site_id or readiness.standby_recipe.get("site_id", ""),
        standby_recipe={} if readiness.standby_site_id else dict(readiness.standby_recipe),
        identity_ids=list(live.identity_ids) if live else list(readiness.key_identity_ids),
        encryption_protector=live.encryption_protector if live else readiness.key_uri or None,
    )
