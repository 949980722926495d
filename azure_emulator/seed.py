"""The deterministic seeded fleet: tenants, their Azure resources, and the demo's imperfections.

Everything derives from ``random.Random(seed)``, so a seed and a fleet size always give the
same fleet (ids, names, sizes, violations) — apart from timestamps, which are relative to the
moment of seeding. Provider modules read these shapes; the README documents the tables.
"""

from __future__ import annotations

import base64
import math
import random
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from azure_emulator.config import EmulatorConfig
from azure_emulator.directory import Directory
from azure_emulator.names import PLACES, SUFFIXES, TRADES
from azure_emulator.state import JSON, Store, isoformat

PRIMARY_REGION = "australiaeast"
PRIMARY_REGION_DISPLAY = "Australia East"
GEO_REGION = "australiasoutheast"
GEO_REGION_DISPLAY = "Australia Southeast"
SECURITY_LOCATION = "australiaeast"
TENANT_TAG = "fleetwise-tenant"
ROLE_TAG = "fleetwise-role"

# Side tables (Store.table names) other modules read.
KEYVAULT_KEYS = "keyvault_keys"
DROPPED_DATABASES = "dropped_databases"

TENANTS_PER_POOL = 40
POOLS_PER_SERVER = 4

DTU_POOL_SIZES = (100, 200, 400, 800)
VCORE_POOL_SIZES = (2, 4, 8)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def tenant_names(rng: random.Random, count: int) -> list[str]:
    """Unique display names; bare "Place Trade" names first, suffixed ones once those run out."""
    bare = [f"{p} {t}" for p in PLACES for t in TRADES]
    rng.shuffle(bare)
    if count <= len(bare):
        return bare[:count]
    suffixed = [f"{n}{s}" for n in bare for s in SUFFIXES if s]
    rng.shuffle(suffixed)
    return bare + suffixed[: count - len(bare)]


def key_version(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def rsa_public_numbers(rng: random.Random) -> tuple[str, str]:
    """A 2048-bit modulus-shaped number (base64url) and exponent.

    Generating real RSA keys for 2,000 tenants would take minutes; no client here does
    cryptography with a Key Vault public key, so a correctly sized odd number will do.
    """
    n = rng.getrandbits(2048) | (1 << 2047) | 1
    return base64.urlsafe_b64encode(n.to_bytes(256, "big")).decode().rstrip("="), "AQAB"


def vault_name(vault_url: str) -> str:
    """SQL names server keys ``{vault}_{key}_{version}``, the vault being the host's first label."""
    host = vault_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return host.split(".", 1)[0]


def server_key_name(kid: str) -> str:
    parts = kid.rstrip("/").split("/")
    return f"{vault_name(kid)}_{parts[-2]}_{parts[-1]}"


def metric_profile(rng: random.Random, level: float, *, unhealthy: bool = False) -> JSON:
    """Parameters of a resource's metric curves (served by the metrics provider).

    value(t) = level * (1 + amplitude * daily(t)) + noise, where daily() peaks at
    ``peak_hour_utc`` (business hours in Australia fall around 23:00-07:00 UTC).
    """
    return {
        "level": round(level, 3),
        "amplitude": round(rng.uniform(0.3, 0.8), 3),
        "peak_hour_utc": rng.choice((0, 1, 2, 3, 4, 5)),
        "weekend_factor": round(rng.uniform(0.4, 0.8), 3),
        "noise": round(rng.uniform(0.03, 0.12), 3),
        "phase_seed": rng.getrandbits(32),
        "error_rate": round(rng.uniform(0.12, 0.3) if unhealthy else rng.uniform(0.0, 0.004), 4),
        "health_check_percent": round(rng.uniform(20, 60) if unhealthy else 100.0, 1),
    }


class FleetBuilder:
    def __init__(self, store: Store, config: EmulatorConfig, directory: Directory) -> None:
        self.store = store
        self.config = config
        self.directory = directory
        self.rng = random.Random(config.seed)  # noqa: S311 - reproducible demo data
        self.now = store.now()

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def put(self, body: JSON) -> JSON:
        self.store.resources[body["id"].lower()] = body
        return body

    def days_ago(self, low: float, high: float) -> datetime:
        return self.now - timedelta(days=self.rng.uniform(low, high))

    # -- shared infrastructure ---------------------------------------------------------------

    def subscription(self, index: int) -> JSON:
        sub_id = self.guid()
        name = f"Fleetwise Production {index + 1}"
        self.put(
            {
                "id": f"/subscriptions/{sub_id}",
                "subscriptionId": sub_id,
                "displayName": name,
                "state": "Enabled",
                "type": "Microsoft.Resources/subscriptions",
            }
        )
        return {"subscription_id": sub_id, "display_name": name}

    def resource_group(self, sub: str, name: str, location: str, tags: dict[str, str]) -> JSON:
        return self.put(
            {
                "id": f"/subscriptions/{sub}/resourceGroups/{name}",
                "name": name,
                "type": "Microsoft.Resources/resourceGroups",
                "location": location,
                "tags": tags,
                "properties": {"provisioningState": "Succeeded"},
            }
        )

    def sql_server(
        self, rg_id: str, name: str, location: str, *, role: str, tls: str = "1.2"
    ) -> JSON:
        server_id = f"{rg_id}/providers/Microsoft.Sql/servers/{name}"
        server = self.put(
            {
                "id": server_id,
                "name": name,
                "type": "Microsoft.Sql/servers",
                "location": location,
                "kind": "v12.0",
                "tags": {ROLE_TAG: role},
                "properties": {
                    "administratorLogin": "fleetwiseadmin",
                    "version": "12.0",
                    "state": "Ready",
                    "fullyQualifiedDomainName": f"{name}.database.windows.net",
                    "privateEndpointConnections": [],
                    "minimalTlsVersion": tls,
                    "publicNetworkAccess": "Disabled",
                    "restrictOutboundNetworkAccess": "Disabled",
                    "isIPv6Enabled": "Disabled",
                },
                "_meta": {"created": isoformat(self.days_ago(900, 1200))},
            }
        )
        self.put(
            {
                "id": f"{server_id}/auditingSettings/default",
                "name": "default",
                "type": "Microsoft.Sql/servers/auditingSettings",
                "properties": auditing_properties(enabled=True),
            }
        )
        self.put(
            {
                "id": f"{server_id}/keys/ServiceManaged",
                "name": "ServiceManaged",
                "type": "Microsoft.Sql/servers/keys",
                "kind": "servicemanaged",
                "location": location,
                "properties": {
                    "serverKeyType": "ServiceManaged",
                    "creationDate": server["_meta"]["created"],
                },
            }
        )
        self.put(
            {
                "id": f"{server_id}/encryptionProtector/current",
                "name": "current",
                "type": "Microsoft.Sql/servers/encryptionProtector",
                "kind": "servicemanaged",
                "location": location,
                "properties": {
                    "serverKeyName": "ServiceManaged",
                    "serverKeyType": "ServiceManaged",
                    "autoRotationEnabled": False,
                },
            }
        )
        return server

    def elastic_pool(self, server: JSON, name: str, tenants: int) -> JSON:
        vcore = self.rng.random() < 0.3
        if vcore:
            capacity = min(VCORE_POOL_SIZES, key=lambda c: abs(c * 10 - tenants))
            sku = {
                "name": "GP_Gen5",
                "tier": "GeneralPurpose",
                "family": "Gen5",
                "capacity": capacity,
            }
            per_db = {"minCapacity": 0.0, "maxCapacity": float(min(capacity, 2))}
            max_size = 512 * 1024**3 if capacity <= 4 else 1024 * 1024**3
        else:
            capacity = min(DTU_POOL_SIZES, key=lambda c: abs(c - tenants * 8))
            sku = {"name": "StandardPool", "tier": "Standard", "capacity": capacity}
            per_db = {"minCapacity": 0.0, "maxCapacity": float(min(capacity, 100))}
            max_size = (capacity // 100) * 200 * 1024**3 if capacity >= 100 else 100 * 1024**3
        return self.put(
            {
                "id": f"{server['id']}/elasticPools/{name}",
                "name": name,
                "type": "Microsoft.Sql/servers/elasticPools",
                "location": server["location"],
                "kind": "pool",
                "tags": {ROLE_TAG: "shared"},
                "sku": sku,
                "properties": {
                    "state": "Ready",
                    "creationDate": server["_meta"]["created"],
                    "maxSizeBytes": max_size,
                    "perDatabaseSettings": per_db,
                    "zoneRedundant": False,
                    "licenseType": "LicenseIncluded" if vcore else None,
                    "maintenanceConfigurationId": f"/subscriptions/{server['id'].split('/')[2]}"
                    "/providers/Microsoft.Maintenance/publicMaintenanceConfigurations/SQL_Default",
                    "availabilityZone": "NoPreference",
                },
                "_meta": {"metrics": metric_profile(self.rng, self.rng.uniform(25, 55))},
            }
        )


def auditing_properties(*, enabled: bool) -> JSON:
    return {
        "state": "Enabled" if enabled else "Disabled",
        "auditActionsAndGroups": [
            "SUCCESSFUL_DATABASE_AUTHENTICATION_GROUP",
            "FAILED_DATABASE_AUTHENTICATION_GROUP",
            "BATCH_COMPLETED_GROUP",
        ],
        "isAzureMonitorTargetEnabled": enabled,
        "isManagedIdentityInUse": False,
        "retentionDays": 90 if enabled else 0,
        "isStorageSecondaryKeyInUse": False,
        "storageEndpoint": "",
        "storageAccountSubscriptionId": "00000000-0000-0000-0000-000000000000",
        "queueDelayMs": 1000,
    }


def _spread(count: int, buckets: int) -> list[int]:
    """Split ``count`` into ``buckets`` near-equal parts."""
    base, extra = divmod(count, buckets)
    return [base + (1 if i < extra else 0) for i in range(buckets)]


def seed_fleet(
    store: Store,
    config: EmulatorConfig,
    directory: Directory,
    hooks: Sequence[Callable[..., None]] = (),
) -> None:
    """Fill an empty store with the fleet for ``config.seed`` and ``config.fleet_size``."""
    from azure_emulator.providers import sql as sql_provider

    b = FleetBuilder(store, config, directory)
    rng = b.rng
    size = max(1, config.fleet_size)
    subscriptions = [b.subscription(i) for i in range(2 if size > 1 else 1)]
    names = tenant_names(rng, size)
    per_sub = _spread(size, len(subscriptions))
    keys_table = store.tables.setdefault(KEYVAULT_KEYS, {})
    tenants: list[JSON] = []
    servers_out: list[JSON] = []
    pools_out: list[JSON] = []
    vault = config.keyvault_base
    name_iter = iter(names)
    server_counter = 0

    # A few deliberate departures from the security statement, spread over the fleet.
    def pick(minimum: int, one_in: int) -> set[int]:
        return set(rng.sample(range(size), k=min(size, max(minimum, size // one_in))))

    violations: dict[str, set[int]] = {
        "backup_local": pick(1, 25),
        "auditing_off": pick(1, 25),
        "service_managed_tde": pick(1, 30),
        "stopped_site": pick(1, 25),
        "unhealthy_site": pick(2, 15),
        "geo_replicated": pick(1, 20),
    }
    tenant_index = 0
    for sub_index, (sub, count) in enumerate(zip(subscriptions, per_sub, strict=True)):
        sub_id = sub["subscription_id"]
        if count == 0:
            continue
        sql_rg = b.resource_group(
            sub_id, "rg-fleetwise-sql-aue", PRIMARY_REGION, {ROLE_TAG: "shared"}
        )
        geo_rg = b.resource_group(sub_id, "rg-fleetwise-sql-ase", GEO_REGION, {ROLE_TAG: "shared"})
        b.resource_group(sub_id, "rg-fleetwise-security", PRIMARY_REGION, {ROLE_TAG: "shared"})
        identity_id = (
            f"/subscriptions/{sub_id}/resourceGroups/rg-fleetwise-security/providers/"
            "Microsoft.ManagedIdentity/userAssignedIdentities/id-fleetwise-tde"
        )
        # A small legacy server (TLS 1.0 still allowed) in the first subscription of a fleet
        # big enough to spare a few tenants for it: a server-level posture violation.
        legacy = 0
        if sub_index == 0 and count >= 10:
            legacy = max(2, count // 25)
        main_count = count - legacy
        server_count = max(1, math.ceil(main_count / (TENANTS_PER_POOL * POOLS_PER_SERVER)))
        groups: list[tuple[int, str]] = [(n, "1.2") for n in _spread(main_count, server_count)]
        if legacy:
            groups.append((legacy, "1.0"))
        for group_size, tls in groups:
            server_counter += 1
            suffix = "legacy" if tls == "1.0" else f"{server_counter:02d}"
            primary = b.sql_server(
                sql_rg["id"], f"sql-fleetwise-aue-{suffix}", PRIMARY_REGION, role="primary", tls=tls
            )
            geo = b.sql_server(geo_rg["id"], f"sql-fleetwise-ase-{suffix}", GEO_REGION, role="geo")
            primary["_meta"]["geo_server_id"] = geo["id"]
            # The legacy server keeps Azure's other CMK level: one server TDE protector in Key
            # Vault shared by all its tenants (the others have a key per database).
            server_kid = (
                _server_level_key(b, primary, geo, vault, keys_table, config.seed)
                if tls == "1.0"
                else None
            )
            servers_out.append(
                {
                    "id": primary["id"],
                    "name": primary["name"],
                    "region": PRIMARY_REGION,
                    "subscription_id": sub_id,
                    "geo_server_id": geo["id"],
                    "minimal_tls_version": tls,
                }
            )
            servers_out.append(
                {
                    "id": geo["id"],
                    "name": geo["name"],
                    "region": GEO_REGION,
                    "subscription_id": sub_id,
                    "geo_server_id": None,
                    "minimal_tls_version": "1.2",
                }
            )
            # At least two pools where there are tenants enough to share them (pool moves need one).
            pool_count = max(
                2 if group_size >= 4 else 1, min(POOLS_PER_SERVER, math.ceil(group_size / 6))
            )
            for pool_number, in_pool in enumerate(_spread(group_size, pool_count), start=1):
                pool = b.elastic_pool(primary, f"pool-{suffix}-{pool_number:02d}", in_pool)
                pools_out.append(
                    {
                        "id": pool["id"],
                        "name": pool["name"],
                        "server_id": primary["id"],
                        "sku": pool["sku"],
                    }
                )
                for _ in range(in_pool):
                    display = next(name_iter)
                    tenants.append(
                        _tenant(
                            b,
                            sub_id,
                            display,
                            primary,
                            geo,
                            pool,
                            identity_id,
                            vault,
                            keys_table,
                            {k: tenant_index in v for k, v in violations.items()},
                            server_kid,
                        )
                    )
                    tenant_index += 1

    _dropped_databases(b, tenants, sql_provider)
    _alerts(b, tenants)
    store.info = {
        "seed": {"seed": config.seed, "fleet_size": size, "seeded_at": isoformat(b.now)},
        "subscriptions": subscriptions,
        "keyvault_url": vault,
        "fleet": {"tenants": tenants, "servers": servers_out, "pools": pools_out},
    }
    for hook in hooks:
        hook(store=store, config=config, rng=random.Random(f"{config.seed}-{hook.__module__}"))  # noqa: S311
    store.touch()


def _tenant(
    b: FleetBuilder,
    sub: str,
    display: str,
    server: JSON,
    geo: JSON,
    pool: JSON,
    identity_id: str,
    vault: str,
    keys_table: dict[str, JSON],
    flags: dict[str, bool],
    server_kid: str | None = None,
) -> JSON:
    rng = b.rng
    if server_kid is not None:
        # The server's protector is customer-managed: nothing service-managed to report.
        flags = {**flags, "service_managed_tde": False}
    slug = slugify(display)
    tags = {TENANT_TAG: slug}
    rg = b.resource_group(sub, f"rg-{slug}", PRIMARY_REGION, tags)
    created = b.days_ago(60, 900)

    # Key Vault key tde-<slug>: 1-3 versions (older ones from earlier rotations), all enabled.
    key_name = f"tde-{slug}"
    versions: list[JSON] = []
    version_count = rng.randint(1, 3)
    for i in range(version_count):
        made = created + (b.now - created) * (i / version_count)
        n, e = rsa_public_numbers(rng)
        epoch = int(made.timestamp())
        versions.append(
            {
                "version": key_version(rng),
                "kty": "RSA",
                "key_size": 2048,
                "key_ops": ["wrapKey", "unwrapKey", "encrypt", "decrypt", "sign", "verify"],
                "n": n,
                "e": e,
                "enabled": True,
                "created": epoch,
                "updated": epoch,
                "nbf": None,
                "exp": None,
                "exportable": False,
            }
        )
    # (The versions above are drawn even for a server-level tenant, so that the fleet's other
    # random choices stay as they were before the server-level key existed.)
    if server_kid is None:
        keys_table[key_name.lower()] = {
            "name": key_name,
            "tags": dict(tags),
            "versions": versions,
            "rotation_policy": None,
            "deleted": None,
            "managed": False,
        }
    kids = [f"{vault}/keys/{key_name}/{v['version']}" for v in versions]
    current_kid = kids[-1]
    for kid, version in zip(kids, versions, strict=True):
        thumbprint = f"{rng.getrandbits(160):040X}"
        # Every version stays a server key, on the primary and on the geo server: restores of
        # older backups (and geo-restores) need every version used since.
        for holder in (server, geo) if server_kid is None else ():
            b.put(
                {
                    "id": f"{holder['id']}/keys/{server_key_name(kid)}",
                    "name": server_key_name(kid),
                    "type": "Microsoft.Sql/servers/keys",
                    "kind": "azurekeyvault",
                    "location": holder["location"],
                    "properties": {
                        "serverKeyType": "AzureKeyVault",
                        "uri": kid,
                        "thumbprint": thumbprint,
                        "creationDate": isoformat(
                            datetime.fromtimestamp(version["created"], tz=UTC)
                        ),
                        "autoRotationEnabled": False,
                        "keyVersion": version["version"],
                    },
                }
            )

    db_name = f"db-{slug}"
    db_id = f"{server['id']}/databases/{db_name}"
    redundancy = "Local" if flags["backup_local"] else "Geo"
    cmk = not flags["service_managed_tde"] and server_kid is None
    max_size = rng.choice((32, 50, 100, 250)) * 1024**3
    database: JSON = {
        "id": db_id,
        "name": db_name,
        "type": "Microsoft.Sql/servers/databases",
        "location": server["location"],
        "kind": "v12.0,user,pool",
        "tags": dict(tags),
        "sku": {"name": "ElasticPool", "tier": pool["sku"]["tier"], "capacity": 0},
        "properties": {
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
            "encryptionProtector": current_kid if cmk else None,
            "encryptionProtectorAutoRotation": False,
        },
        "_meta": {
            "tenant": slug,
            # A tenant's data is a few GiB; the pool's size must hold all its members' data
            # (Azure refuses growth past it), so the seed stays well inside it.
            "used_bytes": int(min(max_size * 0.7, rng.uniform(0.5, 12) * 1024**3)),
            "metrics": metric_profile(rng, rng.uniform(2, 30)),
            # Key versions the database's backups were encrypted with (restore needs them all).
            "key_history": [
                {"kid": k, "from": isoformat(datetime.fromtimestamp(v["created"], tz=UTC))}
                for k, v in zip(kids, versions, strict=True)
            ]
            if cmk
            else [],
            "lineage": None,
        },
    }
    if cmk:
        database["identity"] = {
            "type": "UserAssigned",
            "userAssignedIdentities": {
                identity_id: {"principalId": b.guid(), "clientId": b.guid()}
            },
        }
    b.put(database)
    b.put(
        {
            "id": f"{db_id}/auditingSettings/default",
            "name": "default",
            "type": "Microsoft.Sql/servers/databases/auditingSettings",
            "properties": auditing_properties(enabled=not flags["auditing_off"]),
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
    if flags["geo_replicated"] and redundancy == "Geo":
        secondary_id = f"{geo['id']}/databases/{db_name}"
        secondary = {k: v for k, v in database.items() if k != "_meta"}
        secondary = {
            **secondary,
            "id": secondary_id,
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
            "replica_of": db_id,
            "metrics": metric_profile(rng, 2),
        }
        b.put(secondary)
        database["_meta"]["geo_secondary_id"] = secondary_id

    # App Service: plan, site, config, connection strings, app settings; App Insights.
    web = f"{rg['id']}/providers/Microsoft.Web"
    plan_name, site_name = f"asp-{slug}", f"app-{slug}"
    workers = rng.choice((1, 1, 2, 2, 3))
    plan_sku = rng.choice(
        (
            ("P1v3", "PremiumV3", "Pv3"),
            ("P1v3", "PremiumV3", "Pv3"),
            ("P2v3", "PremiumV3", "Pv3"),
            ("S1", "Standard", "S"),
        )
    )
    plan = b.put(
        {
            "id": f"{web}/serverfarms/{plan_name}",
            "name": plan_name,
            "type": "Microsoft.Web/serverfarms",
            "kind": "linux",
            "location": PRIMARY_REGION_DISPLAY,
            "tags": dict(tags),
            "sku": {
                "name": plan_sku[0],
                "tier": plan_sku[1],
                "size": plan_sku[0],
                "family": plan_sku[2],
                "capacity": workers,
            },
            "properties": {
                "status": "Ready",
                "numberOfWorkers": workers,
                "maximumNumberOfWorkers": 30,
                "numberOfSites": 1,
                "reserved": True,
                "provisioningState": "Succeeded",
                "geoRegion": PRIMARY_REGION_DISPLAY,
                "perSiteScaling": False,
                "elasticScaleEnabled": False,
                "zoneRedundant": False,
                "resourceGroup": rg["name"],
                "subscription": sub,
                "kind": "linux",
                "isSpot": False,
                "hyperV": False,
            },
            "_meta": {"tenant": slug, "metrics": metric_profile(rng, rng.uniform(15, 45))},
        }
    )
    unhealthy = flags["unhealthy_site"]
    stopped = flags["stopped_site"] and not unhealthy
    app_insights_id = f"{rg['id']}/providers/Microsoft.Insights/components/appi-{slug}"
    instrumentation_key = b.guid()
    host = f"{site_name}.azurewebsites.net"
    site_id = f"{web}/sites/{site_name}"
    site_meta: JSON = {
        "tenant": slug,
        "metrics": metric_profile(rng, rng.uniform(5, 40), unhealthy=unhealthy),
    }
    if unhealthy:
        site_meta["health"] = {
            "availabilityState": rng.choice(("Degraded", "Unavailable")),
            "summary": "Your web app is failing its health check on one or more instances.",
            "reasonType": "Unplanned",
            "since": isoformat(b.now - timedelta(minutes=rng.randint(10, 300))),
        }
    b.put(
        {
            "id": site_id,
            "name": site_name,
            "type": "Microsoft.Web/sites",
            "kind": "app,linux",
            "location": PRIMARY_REGION_DISPLAY,
            "tags": dict(tags),
            "properties": {
                "state": "Stopped" if stopped else "Running",
                "enabled": True,
                "hostNames": [host],
                "enabledHostNames": [host, f"{site_name}.scm.azurewebsites.net"],
                "defaultHostName": host,
                "serverFarmId": plan["id"],
                "availabilityState": "Normal",
                "usageState": "Normal",
                "httpsOnly": True,
                "reserved": True,
                "resourceGroup": rg["name"],
                "repositorySiteName": site_name,
                "clientCertEnabled": False,
                "hostNamesDisabled": False,
                "lastModifiedTimeUtc": isoformat(b.days_ago(1, 40)),
                "outboundIpAddresses": "20.211.64.1,20.211.64.2",
                "siteConfig": {"numberOfWorkers": workers, "linuxFxVersion": "PYTHON|3.12"},
                "containerSize": 0,
                "dailyMemoryTimeQuota": 0,
                "keyVaultReferenceIdentity": "SystemAssigned",
            },
            "_meta": site_meta,
        }
    )
    b.put(
        {
            "id": f"{site_id}/config/web",
            "name": "web",
            "type": "Microsoft.Web/sites/config",
            "location": PRIMARY_REGION_DISPLAY,
            "properties": {
                "numberOfWorkers": workers,
                "linuxFxVersion": "PYTHON|3.12",
                "alwaysOn": True,
                "http20Enabled": True,
                "minTlsVersion": "1.2",
                "scmMinTlsVersion": "1.2",
                "ftpsState": "Disabled",
                "healthCheckPath": "/healthz",
                "httpLoggingEnabled": True,
                "detailedErrorLoggingEnabled": False,
                "use32BitWorkerProcess": False,
                "webSocketsEnabled": False,
                "managedPipelineMode": "Integrated",
                "loadBalancing": "LeastRequests",
                "minimumElasticInstanceCount": 0,
            },
        }
    )
    b.put(
        {
            "id": f"{site_id}/config/connectionstrings",
            "name": "connectionstrings",
            "type": "Microsoft.Web/sites/config",
            "location": PRIMARY_REGION_DISPLAY,
            "properties": {
                "FleetwiseDb": {
                    "value": f"Server=tcp:{server['name']}.database.windows.net,1433;Initial Catalog={db_name};"
                    "Authentication=Active Directory Managed Identity;Encrypt=True;",
                    "type": "SQLAzure",
                }
            },
        }
    )
    connection = (
        f"InstrumentationKey={instrumentation_key};"
        "IngestionEndpoint=https://australiaeast-1.in.applicationinsights.azure.com/"
    )
    b.put(
        {
            "id": f"{site_id}/config/appsettings",
            "name": "appsettings",
            "type": "Microsoft.Web/sites/config",
            "location": PRIMARY_REGION_DISPLAY,
            "properties": {
                "APPLICATIONINSIGHTS_CONNECTION_STRING": connection,
                "FLEETWISE_TENANT": slug,
                "WEBSITE_HEALTHCHECK_MAXPINGFAILURES": "10",
            },
        }
    )
    b.put(
        {
            "id": app_insights_id,
            "name": f"appi-{slug}",
            "type": "microsoft.insights/components",
            "location": PRIMARY_REGION,
            "kind": "web",
            "tags": dict(tags),
            "properties": {
                "ApplicationId": f"appi-{slug}",
                "AppId": b.guid(),
                "Application_Type": "web",
                "InstrumentationKey": instrumentation_key,
                "ConnectionString": connection,
                "provisioningState": "Succeeded",
                "IngestionMode": "LogAnalytics",
                "RetentionInDays": 90,
            },
            "_meta": {
                "tenant": slug,
                "metrics": metric_profile(rng, rng.uniform(50, 400), unhealthy=unhealthy),
            },
        }
    )

    return {
        "slug": slug,
        "display_name": display,
        "region": PRIMARY_REGION,
        "subscription_id": sub,
        "resource_group": rg["name"],
        "resource_group_id": rg["id"],
        "site_name": site_name,
        "site_id": site_id,
        "plan_name": plan_name,
        "plan_id": plan["id"],
        "sql_server_name": server["name"],
        "sql_server_id": server["id"],
        "sql_resource_group": server["id"].split("/")[4],
        "database_name": db_name,
        "database_id": db_id,
        "elastic_pool_name": pool["name"],
        "elastic_pool_id": pool["id"],
        "geo_server_name": geo["name"],
        "geo_server_id": geo["id"],
        "geo_region": GEO_REGION,
        "key_name": key_name if server_kid is None else server_kid.split("/")[-2],
        "key_id": current_kid if server_kid is None else server_kid,
        "key_level": "database" if server_kid is None else "server",
        "app_insights_id": app_insights_id,
        "geo_secondary_database_id": database["_meta"].get("geo_secondary_id"),
        "seeded_issues": sorted(k for k, v in flags.items() if v and k != "geo_replicated"),
    }


def _server_level_key(
    b: FleetBuilder, server: JSON, geo: JSON, vault: str, keys_table: dict[str, JSON], seed: Any
) -> str:
    """A Key Vault key `tde-<server>` (two versions) as the server's TDE protector; both versions
    are server keys on the primary and the geo server. Drawn from a random stream of its own so
    the rest of the fleet is the same with or without it. Returns the current versioned kid."""
    rng = random.Random(f"{seed}-server-key-{server['name']}")  # noqa: S311 - seed data
    key_name = f"tde-{server['name']}"
    created = datetime.fromisoformat(server["_meta"]["created"])
    versions: list[JSON] = []
    for i in range(2):
        made = created + (b.now - created) * (i / 2)
        n, e = rsa_public_numbers(rng)
        epoch = int(made.timestamp())
        versions.append(
            {
                "version": key_version(rng),
                "kty": "RSA",
                "key_size": 2048,
                "key_ops": ["wrapKey", "unwrapKey", "encrypt", "decrypt", "sign", "verify"],
                "n": n,
                "e": e,
                "enabled": True,
                "created": epoch,
                "updated": epoch,
                "nbf": None,
                "exp": None,
                "exportable": False,
            }
        )
    keys_table[key_name.lower()] = {
        "name": key_name,
        "tags": {ROLE_TAG: "server-tde"},
        "versions": versions,
        "rotation_policy": None,
        "deleted": None,
        "managed": False,
    }
    kids = [f"{vault}/keys/{key_name}/{v['version']}" for v in versions]
    for kid, version in zip(kids, versions, strict=True):
        made_at = isoformat(datetime.fromtimestamp(version["created"], tz=UTC))
        for holder in (server, geo):
            b.put(
                {
                    "id": f"{holder['id']}/keys/{server_key_name(kid)}",
                    "name": server_key_name(kid),
                    "type": "Microsoft.Sql/servers/keys",
                    "kind": "azurekeyvault",
                    "location": holder["location"],
                    "properties": {
                        "serverKeyType": "AzureKeyVault",
                        "uri": kid,
                        "thumbprint": f"{rng.getrandbits(160):040X}",
                        "creationDate": made_at,
                        "autoRotationEnabled": False,
                        "keyVersion": version["version"],
                    },
                }
            )
    history = [
        {
            "serverKeyName": server_key_name(kid),
            "from": isoformat(datetime.fromtimestamp(v["created"], tz=UTC)),
        }
        for kid, v in zip(kids, versions, strict=True)
    ]
    for holder in (server, geo):
        protector = b.store.resources[f"{holder['id']}/encryptionProtector/current".lower()]
        protector["kind"] = "azurekeyvault"
        protector["properties"] = {
            "serverKeyName": server_key_name(kids[-1]),
            "serverKeyType": "AzureKeyVault",
            "autoRotationEnabled": False,
        }
        holder["_meta"]["protector_history"] = list(history)
    return kids[-1]


def _dropped_databases(b: FleetBuilder, tenants: list[JSON], sql_provider: Any) -> None:
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


ALERT_KINDS = (
    (
        "High",
        "SQL.DB_BruteForce",
        "Potential SQL Brute Force attempt",
        "There has been an unusually high number of failed sign-in attempts with different credentials.",
        "PreAttack",
        "database",
    ),
    (
        "High",
        "SQL.DB_PotentialSqlInjection",
        "Potential SQL injection",
        "An application generated a faulty SQL statement that might indicate a SQL injection vulnerability.",
        "Exploitation",
        "database",
    ),
    (
        "Medium",
        "SQL.DB_AnomalousAccess",
        "Login from an unusual location",
        "Someone has logged on to your SQL server from an unusual location.",
        "Probing",
        "database",
    ),
    (
        "Medium",
        "AppServices_AnomalousPageAccess",
        "Suspicious access to possibly vulnerable web page detected",
        "A web page was accessed that is commonly exploited by attackers.",
        "InitialAccess",
        "site",
    ),
    (
        "Low",
        "AppServices_WpScanner",
        "Vulnerability scanner detected",
        "Activity log shows that a vulnerability scanner was used on your App Service.",
        "PreAttack",
        "site",
    ),
    (
        "Informational",
        "AppServices_CurlToDisk",
        "Suspicious download using curl",
        "A file was downloaded to disk using curl on the App Service host.",
        "Execution",
        "site",
    ),
)


def _alerts(b: FleetBuilder, tenants: list[JSON]) -> None:
    """Defender for Cloud alerts (served by the Security provider): a few, of every severity."""
    rng = b.rng
    count = min(len(tenants) * 2, max(6, len(tenants) // 6))
    for i in range(count):
        tenant = rng.choice(tenants)
        severity, alert_type, display, description, intent, target = ALERT_KINDS[
            i % len(ALERT_KINDS)
        ]
        resource_id = tenant["database_id"] if target == "database" else tenant["site_id"]
        start = b.now - timedelta(hours=rng.uniform(1, 24 * 20))
        name = f"2517{rng.getrandbits(40):012d}_{b.guid()}"
        status = rng.choice(("Active", "Active", "Active", "InProgress", "Resolved", "Dismissed"))
        alert_id = (
            f"{tenant['resource_group_id']}/providers/Microsoft.Security/locations/"
            f"{SECURITY_LOCATION}/alerts/{name}"
        )
        b.put(
            {
                "id": alert_id,
                "name": name,
                "type": "Microsoft.Security/Locations/alerts",
                "properties": {
                    "alertType": alert_type,
                    "systemAlertId": name,
                    "productComponentName": "Databases" if target == "database" else "AppServices",
                    "alertDisplayName": display,
                    "description": description,
                    "severity": severity,
                    "intent": intent,
                    "startTimeUtc": isoformat(start),
                    "endTimeUtc": isoformat(start + timedelta(minutes=rng.randint(1, 90))),
                    "resourceIdentifiers": [
                        {"type": "AzureResource", "azureResourceId": resource_id}
                    ],
                    "remediationSteps": [
                        "Investigate the activity and block the source if it is not expected.",
                        "Review the resource's access and firewall rules.",
                    ],
                    "vendorName": "Microsoft",
                    "status": status,
                    "extendedLinks": [],
                    "alertUri": f"https://portal.azure.com/#blade/Microsoft_Azure_Security/AlertBlade/alertId/{name}",
                    "timeGeneratedUtc": isoformat(start + timedelta(minutes=5)),
                    "productName": "Microsoft Defender for Cloud",
                    "processingEndTimeUtc": isoformat(start + timedelta(minutes=6)),
                    "entities": [{"type": "azure-resource", "resourceId": resource_id}],
                    "isIncident": False,
                    "correlationKey": f"{rng.getrandbits(64):016x}",
                    "extendedProperties": {"tenant": tenant["slug"]},
                    "compromisedEntity": resource_id.rsplit("/", 1)[-1],
                    "techniques": [],
                    "subTechniques": [],
                },
                "_meta": {"tenant": tenant["slug"], "resource_id": resource_id},
            }
        )
