"""Tenants' databases: the pooled database, its policies, a geo secondary, and dropped copies."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from azure_emulator.seed.builder import (
    GEO_REGION,
    TENANT_TAG,
    FleetBuilder,
    Placement,
    metric_profile,
)
from azure_emulator.seed.keys import version_start
from azure_emulator.seed.servers import auditing_properties
from azure_emulator.state import JSON, isoformat


def tenant_database(
    b: FleetBuilder,
    place: Placement,
    *,
    slug: str,
    created: datetime,
    key_history: list[tuple[str, JSON]],
    flags: dict[str, bool],
) -> JSON:
    """The tenant's database in its pool, with its policies (and geo secondary when replicated).

    ``key_history`` is the tenant key's (kid, version) pairs, oldest first; the database uses the
    newest as its protector unless the tenant is seeded with service-managed TDE or the server
    holds the key."""
    redundancy = "Local" if flags["backup_local"] else "Geo"
    cmk = not flags["service_managed_tde"] and place.server_kid is None
    max_size = b.rng.choice((32, 50, 100, 250)) * 1024**3
    database: JSON = {
        "id": f"{place.primary['id']}/databases/db-{slug}",
        "name": f"db-{slug}",
        "type": "Microsoft.Sql/servers/databases",
        "location": place.primary["location"],
        "kind": "v12.0,user,pool",
        "tags": {TENANT_TAG: slug},
        "sku": {"name": "ElasticPool", "tier": place.pool["sku"]["tier"], "capacity": 0},
        "properties": _database_properties(
            b, place.pool, created, max_size, redundancy, key_history[-1][0] if cmk else None
        ),
        "_meta": _database_meta(b, slug, max_size, key_history if cmk else []),
    }
    if cmk:
        # A database-level key is reached through the subscription's user-assigned identity.
        database["identity"] = _user_assigned(b, place.identity_id)
    b.put(database)
    _database_policies(b, database["id"], auditing=not flags["auditing_off"])
    # A tenant with locally redundant backups has no geo backup to restore from: it is
    # geo-replicated instead (the posture violation stays; DR readiness takes the link route).
    if flags["geo_replicated"] or flags["backup_local"]:
        database["_meta"]["geo_secondary_id"] = _geo_secondary(b, database, place.geo, slug)
    return database


def _user_assigned(b: FleetBuilder, identity_id: str) -> JSON:
    return {
        "type": "UserAssigned",
        "userAssignedIdentities": {identity_id: {"principalId": b.guid(), "clientId": b.guid()}},
    }


def _database_meta(
    b: FleetBuilder, slug: str, max_size: int, key_history: list[tuple[str, JSON]]
) -> JSON:
    return {
        "tenant": slug,
        # A tenant's data is a few GiB; the pool's size must hold all its members' data
        # (Azure refuses growth past it), so the seed stays well inside it.
        "used_bytes": int(min(max_size * 0.7, b.rng.uniform(0.5, 12) * 1024**3)),
        "metrics": metric_profile(b.rng, b.rng.uniform(2, 30)),
        # Key versions the database's backups were encrypted with (restore needs them all).
        "key_history": [{"kid": k, "from": version_start(v)} for k, v in key_history],
        "lineage": None,
    }


def _database_properties(
    b: FleetBuilder,
    pool: JSON,
    created: datetime,
    max_size: int,
    redundancy: str,
    protector: str | None,
) -> JSON:
    return {
        "collation": "SQL_Latin1_General_CP1_CI_AS",
        "maxSizeBytes": max_size,
        "status": "Online",
        "databaseId": b.guid(),
        "creationDate": isoformat(created),
        "currentServiceObjectiveName": "ElasticPool",
        "requestedServiceObjectiveName": "ElasticPool",
        "defaultSecondaryLocation": GEO_REGION,
        "catalogCollation": "SQL_Latin1_General_CP1_CI_AS",
        "zoneRedundant": False,
        "elasticPoolId": pool["id"],
        "readScale": "Disabled",
        "currentSku": {"name": "ElasticPool", "tier": pool["sku"]["tier"], "capacity": 0},
        "currentBackupStorageRedundancy": redundancy,
        "requestedBackupStorageRedundancy": redundancy,
        "maintenanceConfigurationId": pool["properties"]["maintenanceConfigurationId"],
        "isLedgerOn": False,
        "isInfraEncryptionEnabled": False,
        "availabilityZone": "NoPreference",
        "encryptionProtector": protector,
        "encryptionProtectorAutoRotation": False,
    }


def _database_policies(b: FleetBuilder, db_id: str, *, auditing: bool) -> None:
    """Auditing, 7-day point-in-time retention and a year of weekly long-term backups."""
    b.put(
        {
            "id": f"{db_id}/auditingSettings/default",
            "name": "default",
            "type": "Microsoft.Sql/servers/databases/auditingSettings",
            "properties": auditing_properties(enabled=auditing),
        }
    )
    b.put(
        {
            "id": f"{db_id}/backupShortTermRetentionPolicies/default",
            "name": "default",
            "type": "Microsoft.Sql/servers/databases/backupShortTermRetentionPolicies",
            "properties": {"retentionDays": 7, "diffBackupIntervalInHours": 12},
        }
    )
    b.put(
        {
            "id": f"{db_id}/backupLongTermRetentionPolicies/default",
            "name": "default",
            "type": "Microsoft.Sql/servers/databases/backupLongTermRetentionPolicies",
            "properties": {
                "weeklyRetention": "P52W",
                "monthlyRetention": "PT0S",
                "yearlyRetention": "PT0S",
                "weekOfYear": 0,
                "timeBasedImmutability": "Disabled",
            },
        }
    )


def _geo_secondary(b: FleetBuilder, database: JSON, geo: JSON, slug: str) -> str:
    """A readable General Purpose secondary on the geo server; returns its id."""
    secondary: JSON = {
        **{k: v for k, v in database.items() if k != "_meta"},
        "id": f"{geo['id']}/databases/{database['name']}",
        "location": geo["location"],
        "sku": {"name": "GP_Gen5", "tier": "GeneralPurpose", "family": "Gen5", "capacity": 2},
        "kind": "v12.0,user,vcore",
    }
    secondary["properties"] = {
        **database["properties"],
        "elasticPoolId": None,
        "secondaryType": "Geo",
        "databaseId": b.guid(),
        "currentServiceObjectiveName": "GP_Gen5_2",
        "requestedServiceObjectiveName": "GP_Gen5_2",
        "currentSku": {"name": "GP_Gen5", "tier": "GeneralPurpose", "capacity": 2},
    }
    secondary["_meta"] = {
        "tenant": slug,
        "replica_of": database["id"],
        "metrics": metric_profile(b.rng, 2),
    }
    b.put(secondary)
    return str(secondary["id"])


def dropped_databases(b: FleetBuilder, tenants: list[JSON], sql_provider: Any) -> None:
    """A couple of databases deleted in the last days: an old copy left after a migration."""
    for tenant in tenants[: max(1, len(tenants) // 12)]:
        source = b.store.resources[tenant["database_id"].lower()]
        copy_name = f"{tenant['database_name']}-old"
        body = {
            **source,
            "id": f"{tenant['sql_server_id']}/databases/{copy_name}",
            "name": copy_name,
            "properties": {
                **source["properties"],
                "databaseId": b.guid(),
                "elasticPoolId": source["properties"]["elasticPoolId"],
            },
            "_meta": {**source["_meta"], "lineage": None},
        }
        deleted = b.now - timedelta(days=b.rng.uniform(0.5, 5))
        sql_provider.record_dropped(b.store, body, deleted)
