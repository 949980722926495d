"""Azure SQL: databases, restores, pools, backups, retention, auditing and TDE keys.

Every function takes full ARM ids (the tenant catalogue stores ids), finds the subscription in
them, and returns our frozen dataclasses. Datetimes are timezone-aware UTC. SDK and transport
errors surface only as our AzureError subclasses (errors.py).

Restores and deletes are long-running: `*_begin` sends the request and returns a continuation
token without waiting; `*_wait` resumes from that token, in any process, for a bounded time
(lro.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from azure.core.polling import LROPoller
from azure.mgmt.sql import SqlManagementClient
from azure.mgmt.sql import models as sql_models

from portal.azure import lro
from portal.azure.clients import azure_clients
from portal.azure.errors import (
    AzureError,
    AzureNotFoundError,
    AzureOperationError,
    azure_errors,
)
from portal.azure.lro import LroOutcome
from portal.azure.raw_json import list_json, parse_time
from portal.azure.resource_ids import ResourceId, parse, same

DATABASE = "Microsoft.Sql/servers/databases"
SERVER = "Microsoft.Sql/servers"
POOL = "Microsoft.Sql/servers/elasticPools"

RESTORE_MODES = frozenset(
    {"PointInTimeRestore", "RestoreLongTermRetentionBackup", "Restore", "Recovery"}
)
# 404 codes that mean "the database's parent is missing", not "no such database": database_find
# must not answer None for those, or a caller would try to create on a server that isn't there.
_PARENT_MISSING = frozenset(
    {"ParentResourceNotFound", "ResourceGroupNotFound", "SubscriptionNotFound"}
)


# -- dataclasses -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseInfo:
    id: str
    name: str
    server_id: str
    location: str
    status: str
    elastic_pool_id: str | None
    sku_name: str
    sku_tier: str
    service_objective: str
    max_size_bytes: int | None
    creation_date: datetime | None
    # Only while Online: Azure omits it for a database that is still restoring.
    earliest_restore_date: datetime | None
    tags: Mapping[str, str]
    backup_storage_redundancy: str
    # "Geo"/"Named"/"Standby" on a secondary replica, None on a primary or standalone database.
    secondary_type: str | None
    # Database-level customer-managed TDE key (a versioned Key Vault kid), None if server-level.
    encryption_protector: str | None
    # User-assigned identities (ARM ids) the database reaches its Key Vault key with.
    identity_ids: tuple[str, ...] = ()
    # Restore lineage, when the response carries it. Azure treats these as create-only
    # properties and normally omits them on GET (the emulator does too: its lineage is only in
    # the control API), so do not rely on them to recognise a restored copy: use names and tags.
    create_mode: str | None = None
    source_database_id: str | None = None
    restore_point_in_time: datetime | None = None

    @property
    def is_online(self) -> bool:
        return self.status == "Online"


@dataclass(frozen=True)
class PoolInfo:
    id: str
    name: str
    location: str
    state: str
    sku_name: str
    sku_tier: str
    # eDTUs for DTU pools, vCores for vCore pools.
    capacity: int | None
    max_size_bytes: int | None
    per_database_min_capacity: float | None
    per_database_max_capacity: float | None
    zone_redundant: bool


@dataclass(frozen=True)
class LtrBackup:
    id: str
    name: str
    server_name: str
    database_name: str
    backup_time: datetime
    expiration_time: datetime | None
    backup_storage_redundancy: str
    database_deletion_time: datetime | None


@dataclass(frozen=True)
class DroppedDatabase:
    # The restorable-dropped-database id: pass it to `database_restore_begin(create_mode="Restore")`.
    id: str
    database_name: str
    database_id: str
    creation_date: datetime | None
    deletion_date: datetime
    earliest_restore_date: datetime | None
    max_size_bytes: int | None
    backup_storage_redundancy: str
    sku_name: str
    tags: Mapping[str, str]


@dataclass(frozen=True)
class LtrPolicy:
    """ISO-8601 durations; "PT0S" means that kind of backup is not kept."""

    weekly_retention: str = "PT0S"
    monthly_retention: str = "PT0S"
    yearly_retention: str = "PT0S"
    week_of_year: int = 0


@dataclass(frozen=True)
class AuditingPolicy:
    state: str
    retention_days: int
    audit_actions_and_groups: tuple[str, ...] = ()
    is_azure_monitor_target_enabled: bool = False
    storage_endpoint: str | None = None
    storage_account_subscription_id: str | None = None
    is_storage_secondary_key_in_use: bool = False
    is_managed_identity_in_use: bool = False
    queue_delay_ms: int | None = None


@dataclass(frozen=True)
class ServerKey:
    name: str
    server_key_type: str
    # Versioned Key Vault kid; None for the service-managed key.
    uri: str | None
    creation_date: datetime | None
    key_version: str | None
    thumbprint: str | None


@dataclass(frozen=True)
class EncryptionProtector:
    server_key_name: str
    server_key_type: str
    uri: str | None
    auto_rotation_enabled: bool


@dataclass(frozen=True)
class DatabaseKey:
    """A Key Vault key version a database's data or backups are encrypted with."""

    uri: str
    creation_date: datetime | None
    key_version: str | None
    thumbprint: str | None


@dataclass(frozen=True)
class _Ref:
    client: SqlManagementClient
    id: ResourceId

    @property
    def group(self) -> str:
        return self.id.resource_group

    @property
    def server(self) -> str:
        return self.id.name_of("servers")


def _ref(resource_id: str, expect: str) -> _Ref:
    parsed = parse(resource_id, expect=expect)
    return _Ref(azure_clients().sql(parsed.subscription_id), parsed)


# -- converting SDK models ---------------------------------------------------------------------------


def _text(value: Any) -> str:
    """Enum-valued fields come back as str-enums (or plain str for values the SDK does not know)."""
    if value is None:
        return ""
    return str(value.value) if isinstance(value, Enum) else str(value)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    # The SDK parses "...Z" as aware; a naive value from an odd payload is UTC by ARM convention.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _required_utc(value: datetime | None, what: str) -> datetime:
    moment = _utc(value)
    if moment is None:
        raise AzureOperationError(f"Azure returned no {what}.", code="IncompleteResponse")
    return moment


def _database(db: sql_models.Database) -> DatabaseInfo:
    props = db.properties or sql_models.DatabaseProperties()
    sku = db.sku or sql_models.Sku(name="")
    database_id = str(db.id)
    return DatabaseInfo(
        id=database_id,
        name=str(db.name),
        server_id=str(parse(database_id).parent),
        location=str(db.location),
        status=_text(props.status),
        elastic_pool_id=props.elastic_pool_id or None,
        sku_name=sku.name,
        sku_tier=sku.tier or "",
        service_objective=props.current_service_objective_name or "",
        max_size_bytes=props.max_size_bytes,
        creation_date=_utc(props.creation_date),
        earliest_restore_date=_utc(props.earliest_restore_date),
        tags=dict(db.tags or {}),
        backup_storage_redundancy=_text(props.current_backup_storage_redundancy),
        secondary_type=_text(props.secondary_type) or None,
        encryption_protector=props.encryption_protector or None,
        identity_ids=tuple(
            sorted((db.identity.user_assigned_identities or {}) if db.identity else ())
        ),
        create_mode=_text(props.create_mode) or None,
        source_database_id=props.source_database_id or None,
        restore_point_in_time=_utc(props.restore_point_in_time),
    )


def _database_json(db: dict[str, Any]) -> DatabaseInfo:
    """`_database` from the list's JSON (the same fields, without building SDK models)."""
    props = db.get("properties") or {}
    sku = db.get("sku") or {}
    identities = (db.get("identity") or {}).get("userAssignedIdentities") or {}
    database_id = str(db["id"])
    return DatabaseInfo(
        id=database_id,
        name=str(db.get("name", "")),
        server_id=str(parse(database_id).parent),
        location=str(db.get("location", "")),
        status=str(props.get("status") or ""),
        elastic_pool_id=props.get("elasticPoolId") or None,
        sku_name=str(sku.get("name") or ""),
        sku_tier=str(sku.get("tier") or ""),
        service_objective=str(props.get("currentServiceObjectiveName") or ""),
        max_size_bytes=props.get("maxSizeBytes"),
        creation_date=parse_time(props.get("creationDate")),
        earliest_restore_date=parse_time(props.get("earliestRestoreDate")),
        tags=dict(db.get("tags") or {}),
        backup_storage_redundancy=str(props.get("currentBackupStorageRedundancy") or ""),
        secondary_type=props.get("secondaryType") or None,
        encryption_protector=props.get("encryptionProtector") or None,
        identity_ids=tuple(sorted(identities)),
        create_mode=props.get("createMode") or None,
        source_database_id=props.get("sourceDatabaseId") or None,
        restore_point_in_time=parse_time(props.get("restorePointInTime")),
    )


# -- databases ---------------------------------------------------------------------------------------


def database_get(database_id: str) -> DatabaseInfo:
    """The database; AzureNotFoundError if it (or its server) does not exist."""
    ref = _ref(database_id, DATABASE)
    with azure_errors():
        return _database(ref.client.databases.get(ref.group, ref.server, ref.id.name))


def database_find(server_id: str, name: str) -> DatabaseInfo | None:
    """The server's database of that name, or None; a missing server is still an error."""
    server = parse(server_id, expect=SERVER)
    try:
        return database_get(str(server.child("databases", name)))
    except AzureNotFoundError as exc:
        if exc.code in _PARENT_MISSING:
            raise
        return None


def databases_list(server_id: str) -> list[DatabaseInfo]:
    """The server's user databases (not `master`), by name. Read as JSON (raw_json.py): the
    fleet refresh lists every server's databases every few minutes."""
    ref = _ref(server_id, SERVER)
    with azure_errors():
        listed = list_json(
            ref.client, f"{ref.id}/databases", api_version=ref.client._config.api_version
        )
    found = [
        _database_json(db)
        for db in listed
        if str(db.get("name", "")).lower() != "master"
        and "system" not in str(db.get("kind") or "").lower()
    ]
    return sorted(found, key=lambda d: d.name.lower())


def _aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware")
    return moment.astimezone(UTC)


def database_restore_begin(
    *,
    target_id: str,
    location: str,
    create_mode: str,
    source_database_id: str | None = None,
    restore_point_in_time: datetime | None = None,
    long_term_retention_backup_id: str | None = None,
    restorable_dropped_database_id: str | None = None,
    recoverable_database_id: str | None = None,
    elastic_pool_id: str | None = None,
    tags: Mapping[str, str],
    identity_ids: Sequence[str] = (),
    key_uris: Sequence[str] = (),
    encryption_protector: str | None = None,
) -> str:
    """Start restoring into a new database `target_id`; returns the continuation token.

    Azure carries neither tags nor a database-level key over to the restored database: pass the
    tags, and for a source with a database-level key its user-assigned identities, every key
    version the backup needs (`key_uris`) and the protector, or the copy comes back under the
    server's encryption.

    Does not wait. Azure checks the request synchronously (a time outside the window, an unknown
    backup, an existing target name → AzureOperationError with its code) and runs the restore
    as an LRO: pass the token to `database_restore_wait`, from any process.

    Not retried inside the SDK (unlike reads): a 429 here is usually Azure's limit on
    concurrent restores with a long Retry-After, which the operations engine should queue behind
    rather than sleep through; and a PUT re-sent after a 5xx that had in fact been accepted would
    come back 409 and hide the restore that is running. The caller retries AzureTransientError
    after checking by name (`database_find`) that nothing started.
    """
    if create_mode not in RESTORE_MODES:
        raise ValueError(f"create_mode must be one of {sorted(RESTORE_MODES)}, not {create_mode!r}")
    ref = _ref(target_id, DATABASE)
    properties = sql_models.DatabaseProperties(
        create_mode=create_mode,
        source_database_id=source_database_id,
        restore_point_in_time=(
            _aware(restore_point_in_time, "restore_point_in_time")
            if restore_point_in_time is not None
            else None
        ),
        long_term_retention_backup_resource_id=long_term_retention_backup_id,
        restorable_dropped_database_id=restorable_dropped_database_id,
        recoverable_database_id=recoverable_database_id,
        elastic_pool_id=elastic_pool_id,
        keys_property={uri: sql_models.DatabaseKey() for uri in key_uris} or None,
        encryption_protector=encryption_protector,
    )
    parameters = sql_models.Database(
        location=location, tags=dict(tags), properties=properties, identity=_identity(identity_ids)
    )

    def start(polling: Any) -> LROPoller[Any]:
        return ref.client.databases.begin_create_or_update(
            ref.group, ref.server, ref.id.name, parameters, polling=polling, retry_status=0
        )

    return lro.begin(start)


def database_restore_wait(
    *, target_id: str, continuation_token: str, timeout_seconds: float
) -> LroOutcome:
    """Poll a restore begun by `database_restore_begin` for up to `timeout_seconds`.

    A failed restore is an outcome with Azure's code (e.g. KeyMaterialNotFoundOnRemoteServer);
    Azure removes the half-restored database itself.
    """
    ref = _ref(target_id, DATABASE)

    def resume(polling: Any, token: str) -> LROPoller[Any]:
        return ref.client.databases.begin_create_or_update(
            ref.group, ref.server, ref.id.name, {}, polling=polling, continuation_token=token
        )

    return lro.wait(resume, continuation_token, timeout_seconds=timeout_seconds)


def _identity(identity_ids: Sequence[str]) -> sql_models.DatabaseIdentity | None:
    if not identity_ids:
        return None
    return sql_models.DatabaseIdentity(
        type="UserAssigned",
        user_assigned_identities={i: sql_models.DatabaseUserIdentity() for i in identity_ids},
    )


def database_delete_begin(database_id: str) -> str:
    """Start deleting the database (also how a running restore is cancelled: delete its target).

    A database that does not exist is deleted already: Azure answers 204 and the token's
    operation is done. The deleted database stays restorable (`restorable_dropped_databases`)
    for its retention period.
    """
    ref = _ref(database_id, DATABASE)

    def start(polling: Any) -> LROPoller[Any]:
        return ref.client.databases.begin_delete(
            ref.group, ref.server, ref.id.name, polling=polling
        )

    return lro.begin(start)


def database_delete_wait(
    *, database_id: str, continuation_token: str, timeout_seconds: float
) -> LroOutcome:
    ref = _ref(database_id, DATABASE)

    def resume(polling: Any, token: str) -> LROPoller[Any]:
        return ref.client.databases.begin_delete(
            ref.group, ref.server, ref.id.name, polling=polling, continuation_token=token
        )

    return lro.wait(resume, continuation_token, timeout_seconds=timeout_seconds)


def database_rename(database_id: str, new_name: str) -> str:
    """Rename within the server (POST .../move, synchronous); returns the new id.

    Azure refuses an existing name (400 DatabaseNameInUse) and a geo-replicated database (409
    InvalidOperationForDatabaseInReplicationRelationship); both come back as
    AzureOperationError with Azure's code and a message that says what to do.
    """
    ref = _ref(database_id, DATABASE)
    new_id = str(ref.id.parent.child("databases", new_name))
    try:
        with azure_errors():
            ref.client.databases.rename(
                ref.group, ref.server, ref.id.name, sql_models.ResourceMoveDefinition(id=new_id)
            )
    except AzureOperationError as exc:
        raise _rename_refusal(exc, ref.id.name, new_name, ref.server) from exc
    return new_id


def _rename_refusal(exc: AzureOperationError, name: str, new_name: str, server: str) -> AzureError:
    messages = {
        "DatabaseNameInUse": f"Cannot rename {name} to {new_name}: server {server} already has a "
        f"database named {new_name}.",
        "InvalidOperationForDatabaseInReplicationRelationship": f"Cannot rename {name}: it is "
        "geo-replicated, and Azure does not rename a database in a replication relationship. "
        "Remove the geo-replica first.",
    }
    if exc.code not in messages:
        return exc
    return AzureOperationError(messages[exc.code], code=exc.code, status=exc.status)


def database_tags_set(
    database_id: str, tags: Mapping[str, str], *, timeout_seconds: float = 120
) -> DatabaseInfo:
    """Replace the database's tags with exactly `tags` (ARM PATCH semantics for `tags`: the whole
    dictionary is replaced, so `{}` removes them all). To add tags, pass `{**info.tags, ...}`;
    replacing rather than merging keeps the re-apply after an in-place swap exact."""
    ref = _ref(database_id, DATABASE)

    def start(polling: Any) -> LROPoller[Any]:
        return ref.client.databases.begin_update(
            ref.group,
            ref.server,
            ref.id.name,
            sql_models.DatabaseUpdate(tags=dict(tags)),
            polling=polling,
        )

    lro.run(start, timeout_seconds=timeout_seconds)
    return database_get(database_id)


def restorable_dropped_database_keys(dropped_id: str) -> list[str]:
    """Key versions (kids) the deleted database's backups need (`$expand=keys`)."""
    parsed = parse(dropped_id, expect="Microsoft.Sql/servers/restorableDroppedDatabases")
    client = azure_clients().sql(parsed.subscription_id)
    with azure_errors():
        dropped = client.restorable_dropped_databases.get(
            parsed.resource_group, parsed.name_of("servers"), parsed.name, expand="keys"
        )
    return sorted((dropped.properties.keys_property if dropped.properties else None) or {})


def database_keys(database_id: str, *, at: datetime | None = None) -> list[DatabaseKey]:
    """The Key Vault key versions a database uses (`at` None: now), for databases with a
    database-level customer-managed key; restoring to a time needs every version used since."""
    ref = _ref(database_id, DATABASE)
    moment = "'current'" if at is None else f"'{_aware(at, 'at').strftime('%Y-%m-%dT%H:%M:%SZ')}'"
    with azure_errors():
        db = ref.client.databases.get(
            ref.group, ref.server, ref.id.name, expand=f"keys($filter=pointInTime({moment}))"
        )
    keys = (db.properties.keys_property if db.properties else None) or {}
    found = [
        DatabaseKey(
            uri=uri,
            creation_date=_utc(key.creation_date),
            key_version=key.key_version,
            thumbprint=key.thumbprint,
        )
        for uri, key in keys.items()
    ]
    return sorted(found, key=lambda k: k.creation_date or datetime.min.replace(tzinfo=UTC))


# -- elastic pools -----------------------------------------------------------------------------------


def elastic_pool_get(pool_id: str) -> PoolInfo:
    ref = _ref(pool_id, POOL)
    with azure_errors():
        pool = ref.client.elastic_pools.get(ref.group, ref.server, ref.id.name)
    props = pool.properties or sql_models.ElasticPoolProperties()
    sku = pool.sku or sql_models.Sku(name="")
    per_db = props.per_database_settings
    return PoolInfo(
        id=str(pool.id),
        name=str(pool.name),
        location=str(pool.location),
        state=_text(props.state),
        sku_name=sku.name,
        sku_tier=sku.tier or "",
        capacity=sku.capacity,
        max_size_bytes=props.max_size_bytes,
        per_database_min_capacity=per_db.min_capacity if per_db else None,
        per_database_max_capacity=per_db.max_capacity if per_db else None,
        zone_redundant=bool(props.zone_redundant),
    )


def elastic_pool_databases(pool_id: str) -> list[DatabaseInfo]:
    ref = _ref(pool_id, POOL)
    with azure_errors():
        found = [
            _database(db)
            for db in ref.client.databases.list_by_elastic_pool(ref.group, ref.server, ref.id.name)
        ]
    return sorted(found, key=lambda d: d.name.lower())


# -- backups -----------------------------------------------------------------------------------------


def long_term_retention_backups(
    database_id: str, *, database_state: str | None = None
) -> list[LtrBackup]:
    """The database's LTR backups, oldest first. `database_state` "All"/"Live"/"Deleted" covers a
    deleted database of the same name too (Azure's default when omitted is "All")."""
    ref = _ref(database_id, DATABASE)
    with azure_errors():
        # LTR backups are listed per region and server name (no resource group in the path).
        server = ref.client.servers.get(ref.group, ref.server)
        backups = ref.client.long_term_retention_backups.list_by_database(
            str(server.location), ref.server, ref.id.name, database_state=database_state
        )
        found = []
        for backup in backups:
            props = backup.properties or sql_models.LongTermRetentionBackupProperties()
            found.append(
                LtrBackup(
                    id=str(backup.id),
                    name=str(backup.name),
                    server_name=props.server_name or ref.server,
                    database_name=props.database_name or ref.id.name,
                    backup_time=_required_utc(props.backup_time, "LTR backup time"),
                    expiration_time=_utc(props.backup_expiration_time),
                    backup_storage_redundancy=_text(props.backup_storage_redundancy),
                    database_deletion_time=_utc(props.database_deletion_time),
                )
            )
    return sorted(found, key=lambda b: b.backup_time)


def restorable_dropped_databases(server_id: str) -> list[DroppedDatabase]:
    """Deleted databases still inside their retention, most recently deleted first."""
    ref = _ref(server_id, SERVER)
    with azure_errors():
        dropped = []
        for item in ref.client.restorable_dropped_databases.list_by_server(ref.group, ref.id.name):
            props = item.properties or sql_models.RestorableDroppedDatabaseProperties()
            name = props.database_name or str(item.name).split(",", 1)[0]
            dropped.append(
                DroppedDatabase(
                    id=str(item.id),
                    database_name=name,
                    database_id=str(ref.id.child("databases", name)),
                    creation_date=_utc(props.creation_date),
                    deletion_date=_required_utc(props.deletion_date, "deletion date"),
                    earliest_restore_date=_utc(props.earliest_restore_date),
                    max_size_bytes=props.max_size_bytes,
                    backup_storage_redundancy=_text(props.backup_storage_redundancy),
                    sku_name=item.sku.name if item.sku else "",
                    tags=dict(item.tags or {}),
                )
            )
    return sorted(dropped, key=lambda d: d.deletion_date, reverse=True)


def ltr_policy_get(database_id: str) -> LtrPolicy:
    ref = _ref(database_id, DATABASE)
    with azure_errors():
        policy = ref.client.long_term_retention_policies.get(
            ref.group, ref.server, ref.id.name, "default"
        )
    return _ltr_policy(policy)


def _ltr_policy(policy: sql_models.LongTermRetentionPolicy | None) -> LtrPolicy:
    props = (
        policy.properties if policy else None
    ) or sql_models.LongTermRetentionPolicyProperties()
    return LtrPolicy(
        weekly_retention=props.weekly_retention or "PT0S",
        monthly_retention=props.monthly_retention or "PT0S",
        yearly_retention=props.yearly_retention or "PT0S",
        week_of_year=props.week_of_year or 0,
    )


def ltr_policy_set(
    database_id: str, policy: LtrPolicy, *, timeout_seconds: float = 120
) -> LtrPolicy:
    """Set the database's LTR policy (a PUT, an LRO in Azure) and wait for it."""
    ref = _ref(database_id, DATABASE)
    body = sql_models.LongTermRetentionPolicy(
        properties=sql_models.LongTermRetentionPolicyProperties(
            weekly_retention=policy.weekly_retention,
            monthly_retention=policy.monthly_retention,
            yearly_retention=policy.yearly_retention,
            week_of_year=policy.week_of_year,
        )
    )

    def start(polling: Any) -> LROPoller[Any]:
        return ref.client.long_term_retention_policies.begin_create_or_update(
            ref.group, ref.server, ref.id.name, "default", body, polling=polling
        )

    lro.run(start, timeout_seconds=timeout_seconds)
    return ltr_policy_get(database_id)


def database_auditing_get(database_id: str) -> AuditingPolicy:
    ref = _ref(database_id, DATABASE)
    with azure_errors():
        policy = ref.client.database_blob_auditing_policies.get(ref.group, ref.server, ref.id.name)
    props = policy.properties or sql_models.DatabaseBlobAuditingPolicyProperties(state="Disabled")
    return AuditingPolicy(
        state=_text(props.state),
        retention_days=props.retention_days or 0,
        audit_actions_and_groups=tuple(props.audit_actions_and_groups or ()),
        is_azure_monitor_target_enabled=bool(props.is_azure_monitor_target_enabled),
        storage_endpoint=props.storage_endpoint or None,
        storage_account_subscription_id=props.storage_account_subscription_id or None,
        is_storage_secondary_key_in_use=bool(props.is_storage_secondary_key_in_use),
        is_managed_identity_in_use=bool(props.is_managed_identity_in_use),
        queue_delay_ms=props.queue_delay_ms,
    )


def database_auditing_set(
    database_id: str, policy: AuditingPolicy, *, storage_account_access_key: str | None = None
) -> AuditingPolicy:
    """Apply an auditing policy (e.g. the one read from the live database before a swap).

    Azure never returns the storage account key, so a policy writing to a storage account with
    key authentication cannot be copied without it: pass `storage_account_access_key`, or use
    Azure Monitor or managed-identity targets (which need none).
    """
    ref = _ref(database_id, DATABASE)
    props = sql_models.DatabaseBlobAuditingPolicyProperties(
        state=policy.state,
        retention_days=policy.retention_days,
        audit_actions_and_groups=list(policy.audit_actions_and_groups),
        is_azure_monitor_target_enabled=policy.is_azure_monitor_target_enabled,
        storage_endpoint=policy.storage_endpoint,
        storage_account_subscription_id=policy.storage_account_subscription_id,
        is_storage_secondary_key_in_use=policy.is_storage_secondary_key_in_use,
        is_managed_identity_in_use=policy.is_managed_identity_in_use,
        queue_delay_ms=policy.queue_delay_ms,
        storage_account_access_key=storage_account_access_key,
    )
    with azure_errors():
        ref.client.database_blob_auditing_policies.create_or_update(
            ref.group,
            ref.server,
            ref.id.name,
            sql_models.DatabaseBlobAuditingPolicy(properties=props),
        )
    return database_auditing_get(database_id)


# -- geo-replication ---------------------------------------------------------------------------------


def geo_replication_partners(
    database_id: str, *, partner_server_ids: Iterable[str] | None = None
) -> list[str]:
    """Ids of the database's geo-secondaries. An in-place swap is blocked while any exists:
    Azure refuses to rename a geo-replicated database.

    Azure names a geo-secondary like its primary, so each candidate server is asked for a
    database of that name which reports itself a secondary (`secondaryType`). Candidates are
    `partner_server_ids` (e.g. the catalogue's paired-region server), else every other SQL
    server of the subscription (one list call, then one GET per server). Replication links
    (`replication.replication_links`) name partners directly, including ones in other
    subscriptions.
    """
    primary = parse(database_id, expect=DATABASE)
    if partner_server_ids is None:
        client = azure_clients().sql(primary.subscription_id)
        with azure_errors():
            partner_server_ids = [
                str(server.id)
                for server in client.servers.list()
                if not same(str(server.id), str(primary.parent))
            ]
    partners = []
    for server_id in partner_server_ids:
        candidate = database_find(server_id, primary.name)
        if (
            candidate is not None
            and candidate.secondary_type
            and not same(candidate.id, database_id)
        ):
            partners.append(candidate.id)
    return partners


# -- TDE keys ----------------------------------------------------------------------------------------


def server_keys(server_id: str) -> list[ServerKey]:
    """Keys the server can use (Key Vault key versions added to it, and the service-managed key),
    oldest first."""
    ref = _ref(server_id, SERVER)
    with azure_errors():
        found = []
        for key in ref.client.server_keys.list_by_server(ref.group, ref.id.name):
            props = key.properties or sql_models.ServerKeyProperties(server_key_type="")
            found.append(
                ServerKey(
                    name=str(key.name),
                    server_key_type=_text(props.server_key_type),
                    uri=props.uri or None,
                    creation_date=_utc(props.creation_date),
                    key_version=props.key_version or None,
                    thumbprint=props.thumbprint or None,
                )
            )
    return sorted(
        found, key=lambda k: (k.creation_date or datetime.min.replace(tzinfo=UTC), k.name)
    )


def encryption_protector(server_id: str) -> EncryptionProtector:
    """The server's current TDE protector."""
    ref = _ref(server_id, SERVER)
    with azure_errors():
        protector = ref.client.encryption_protectors.get(ref.group, ref.id.name, "current")
    props = protector.properties or sql_models.EncryptionProtectorProperties(server_key_type="")
    return EncryptionProtector(
        server_key_name=props.server_key_name or "",
        server_key_type=_text(props.server_key_type),
        uri=props.uri or None,
        auto_rotation_enabled=bool(props.auto_rotation_enabled),
    )
