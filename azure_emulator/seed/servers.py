"""Shared infrastructure: subscriptions, resource groups, SQL servers and their elastic pools."""

from __future__ import annotations

import random

from azure_emulator.seed.builder import (
    DTU_POOL_SIZES,
    ROLE_TAG,
    VCORE_POOL_SIZES,
    FleetBuilder,
    metric_profile,
)
from azure_emulator.state import JSON, isoformat


def subscription(b: FleetBuilder, index: int) -> JSON:
    sub_id = b.guid()
    name = f"Fleetwise Production {index + 1}"
    b.put(
        {
            "id": f"/subscriptions/{sub_id}",
            "subscriptionId": sub_id,
            "displayName": name,
            "state": "Enabled",
            "type": "Microsoft.Resources/subscriptions",
        }
    )
    return {"subscription_id": sub_id, "display_name": name}


def resource_group(
    b: FleetBuilder, sub: str, name: str, location: str, tags: dict[str, str]
) -> JSON:
    return b.put(
        {
            "id": f"/subscriptions/{sub}/resourceGroups/{name}",
            "name": name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": location,
            "tags": tags,
            "properties": {"provisioningState": "Succeeded"},
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


def sql_server(
    b: FleetBuilder, rg_id: str, name: str, location: str, *, role: str, tls: str = "1.2"
) -> JSON:
    """A logical server with auditing on and service-managed TDE (its keys come later)."""
    server = b.put(
        {
            "id": f"{rg_id}/providers/Microsoft.Sql/servers/{name}",
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
            "_meta": {"created": isoformat(b.days_ago(900, 1200))},
        }
    )
    b.put(
        {
            "id": f"{server['id']}/auditingSettings/default",
            "name": "default",
            "type": "Microsoft.Sql/servers/auditingSettings",
            "properties": auditing_properties(enabled=True),
        }
    )
    _service_managed_tde(b, server)
    return server


def _service_managed_tde(b: FleetBuilder, server: JSON) -> None:
    """The built-in ServiceManaged server key and a protector that uses it."""
    b.put(
        {
            "id": f"{server['id']}/keys/ServiceManaged",
            "name": "ServiceManaged",
            "type": "Microsoft.Sql/servers/keys",
            "kind": "servicemanaged",
            "location": server["location"],
            "properties": {
                "serverKeyType": "ServiceManaged",
                "creationDate": server["_meta"]["created"],
            },
        }
    )
    b.put(service_managed_protector(server))


def service_managed_protector(server: JSON) -> JSON:
    """A server's TDE protector while it uses the built-in service-managed key (a server's
    protector when nothing else was set)."""
    return {
        "id": f"{server['id']}/encryptionProtector/current",
        "name": "current",
        "type": "Microsoft.Sql/servers/encryptionProtector",
        "kind": "servicemanaged",
        "location": server["location"],
        "properties": {
            "serverKeyName": "ServiceManaged",
            "serverKeyType": "ServiceManaged",
            "autoRotationEnabled": False,
        },
    }


def pool_sizing(rng: random.Random, tenants: int) -> tuple[JSON, JSON, int]:
    """(sku, per-database settings, max size in bytes) for a pool of ``tenants`` databases:
    about three in ten are vCore pools, the rest DTU pools, sized to their tenant count."""
    if rng.random() < 0.3:
        capacity = min(VCORE_POOL_SIZES, key=lambda c: abs(c * 10 - tenants))
        sku = {"name": "GP_Gen5", "tier": "GeneralPurpose", "family": "Gen5", "capacity": capacity}
        per_db = {"minCapacity": 0.0, "maxCapacity": float(min(capacity, 2))}
        return sku, per_db, 512 * 1024**3 if capacity <= 4 else 1024 * 1024**3
    capacity = min(DTU_POOL_SIZES, key=lambda c: abs(c - tenants * 8))
    sku = {"name": "StandardPool", "tier": "Standard", "capacity": capacity}
    per_db = {"minCapacity": 0.0, "maxCapacity": float(min(capacity, 100))}
    return sku, per_db, (capacity // 100) * 200 * 1024**3 if capacity >= 100 else 100 * 1024**3


def elastic_pool(b: FleetBuilder, server: JSON, name: str, tenants: int) -> JSON:
    sku, per_db, max_size = pool_sizing(b.rng, tenants)
    return b.put(
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
                "licenseType": "LicenseIncluded" if sku["tier"] == "GeneralPurpose" else None,
                "maintenanceConfigurationId": f"/subscriptions/{server['id'].split('/')[2]}"
                "/providers/Microsoft.Maintenance/publicMaintenanceConfigurations/SQL_Default",
                "availabilityZone": "NoPreference",
            },
            "_meta": {"metrics": metric_profile(b.rng, b.rng.uniform(25, 55))},
        }
    )
