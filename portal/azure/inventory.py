"""Subscription- and server-scope lists for the fleet refresh: one call (plus pages) returns
every site, plan or pool, instead of one call per tenant (ARM throttles reads per subscription)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from azure.mgmt.sql import models as sql_models
from azure.mgmt.web import models as web_models

from portal.azure.clients import azure_clients
from portal.azure.errors import azure_errors
from portal.azure.raw_json import list_json
from portal.azure.resource_ids import parse

SERVER = "Microsoft.Sql/servers"


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value.value) if isinstance(value, Enum) else str(value)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class SiteRow:
    id: str
    name: str
    location: str
    state: str
    https_only: bool | None
    server_farm_id: str


@dataclass(frozen=True)
class PlanRow:
    id: str
    name: str
    sku_name: str
    sku_tier: str
    instances: int | None


@dataclass(frozen=True)
class PoolRow:
    id: str
    name: str
    location: str
    state: str
    sku_name: str
    sku_tier: str
    capacity: int | None
    max_size_bytes: int | None
    per_database_min: float | None
    per_database_max: float | None


def sites_list(subscription_id: str) -> list[SiteRow]:
    """Every App Service site in the subscription (the list carries state and HTTPS-only;
    minimum TLS, Always On and the health-check path live on each site's config resource).

    Read as JSON (raw_json.py): thousands of sites as SDK models cost seconds of CPU."""
    client = azure_clients().web(subscription_id)
    path = f"/subscriptions/{subscription_id}/providers/Microsoft.Web/sites"
    with azure_errors():
        sites = list_json(client, path, api_version=client._config.api_version)
    rows = []
    for site in sites:
        props = site.get("properties") or {}
        rows.append(
            SiteRow(
                id=str(site["id"]),
                name=str(site.get("name", "")),
                location=str(site.get("location", "")),
                state=str(props.get("state") or ""),
                https_only=props.get("httpsOnly"),
                server_farm_id=str(props.get("serverFarmId") or ""),
            )
        )
    return rows


def plans_list(subscription_id: str) -> list[PlanRow]:
    """Every App Service plan in the subscription with its SKU and instance count."""
    client = azure_clients().web(subscription_id)
    with azure_errors():
        plans = list(client.app_service_plans.list())
    rows = []
    for plan in plans:
        props = plan.properties or web_models.AppServicePlanProperties()
        sku = plan.sku
        rows.append(
            PlanRow(
                id=str(plan.id),
                name=str(plan.name),
                sku_name=(sku.name or "") if sku else "",
                sku_tier=(sku.tier or "") if sku else "",
                instances=(sku.capacity if sku and sku.capacity else props.number_of_workers),
            )
        )
    return rows


def pools_list(server_id: str) -> list[PoolRow]:
    """The server's elastic pools with SKU, capacity and per-database limits (read as JSON,
    raw_json.py: every hot refresh lists every server's pools)."""
    ref = parse(server_id, expect=SERVER)
    client = azure_clients().sql(ref.subscription_id)
    with azure_errors():
        pools = list_json(client, f"{ref}/elasticPools", api_version=client._config.api_version)
    rows = []
    for pool in pools:
        props = pool.get("properties") or {}
        sku = pool.get("sku") or {}
        per_db = props.get("perDatabaseSettings") or {}
        rows.append(
            PoolRow(
                id=str(pool["id"]),
                name=str(pool.get("name", "")),
                location=str(pool.get("location", "")),
                state=str(props.get("state") or ""),
                sku_name=str(sku.get("name") or ""),
                sku_tier=str(sku.get("tier") or ""),
                capacity=sku.get("capacity"),
                max_size_bytes=props.get("maxSizeBytes"),
                per_database_min=per_db.get("minCapacity"),
                per_database_max=per_db.get("maxCapacity"),
            )
        )
    return rows


@dataclass(frozen=True)
class LtrBackupRow:
    database_name: str
    # The ARM id: what a long-term-backup restore names as its source.
    id: str
    name: str
    backup_time: datetime | None
    expires: datetime | None
    redundancy: str


def ltr_backups_by_server(server_id: str) -> list[LtrBackupRow]:
    """Every live database's LTR backups on the server (LTR is listed by region and server)."""
    ref = parse(server_id, expect=SERVER)
    client = azure_clients().sql(ref.subscription_id)
    with azure_errors():
        server = client.servers.get(ref.resource_group, ref.name)
        backups = list(
            client.long_term_retention_backups.list_by_server(
                str(server.location), ref.name, database_state="Live"
            )
        )
    rows = []
    for backup in backups:
        props = backup.properties or sql_models.LongTermRetentionBackupProperties()
        rows.append(
            LtrBackupRow(
                database_name=props.database_name or "",
                id=str(backup.id),
                name=str(backup.name),
                backup_time=_utc(props.backup_time),
                expires=_utc(props.backup_expiration_time),
                redundancy=_text(props.backup_storage_redundancy),
            )
        )
    return rows


def geo_backups_by_server(server_id: str) -> dict[str, datetime | None]:
    """Database name (lower case) → time of its newest geo-replicated backup, the point a
    geo-restore to the paired region would return to."""
    ref = parse(server_id, expect=SERVER)
    client = azure_clients().sql(ref.subscription_id)
    with azure_errors():
        found = list(client.recoverable_databases.list_by_server(ref.resource_group, ref.name))
    latest: dict[str, datetime | None] = {}
    for item in found:
        props = item.properties or sql_models.RecoverableDatabaseProperties()
        latest[str(item.name).lower()] = _utc(props.last_available_backup_date)
    return latest
