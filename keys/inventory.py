"""Collecting a tenant's key inventory from Azure (in a worker or an operation's step)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from keys.models import KeyInventory
from keys.rules import LtrBackupTaken, VersionUse, backup_needs
from portal.azure import keyvault, sql, tde
from portal.azure.errors import AzureError
from tenants.models import Tenant
from tenants.selectors import active_copy, tenants_on_server

log = logging.getLogger(__name__)

PITR_RETENTION_DAYS = 7


def _uses(dates: list[tuple[str, datetime | None]]) -> list[VersionUse]:
    """Each version in use from when it was added until the next one was."""
    known = sorted((d, k) for k, d in dates if d is not None)
    return [
        VersionUse(kid, since, known[i + 1][0] if i + 1 < len(known) else None)
        for i, (since, kid) in enumerate(known)
    ]


def _level_and_uses(tenant: Tenant) -> tuple[str, str, list[VersionUse], bool]:
    """Read from the copy the tenant runs on now (the paired server's after a failover)."""
    active = active_copy(tenant)
    database = sql.database_get(active.database_id)
    geo = database.backup_storage_redundancy in ("Geo", "GeoZone")
    if database.encryption_protector:
        keys = sql.database_keys(active.database_id)
        return (
            "database",
            database.encryption_protector,
            _uses([(k.uri, k.creation_date) for k in keys]),
            geo,
        )
    protector = sql.encryption_protector(active.sql_server_id)
    if protector.server_key_type != "AzureKeyVault" or not protector.uri:
        return "service-managed", "", [], geo
    _, name = keyvault.key_reference(protector.uri)
    server_keys = [
        k
        for k in sql.server_keys(active.sql_server_id)
        if k.uri and keyvault.key_reference(k.uri)[1].lower() == name.lower()
    ]
    return (
        "server",
        protector.uri,
        _uses([(k.uri or "", k.creation_date) for k in server_keys]),
        geo,
    )


def key_inventory_collect(tenant: Tenant) -> KeyInventory:
    """Read the key from Azure and store it; an Azure error is stored, not raised."""
    inventory, _ = KeyInventory.objects.get_or_create(tenant=tenant)
    try:
        level, in_use, uses, geo = _level_and_uses(tenant)
        versions: list[dict[str, object]] = []
        policy_text = ""
        covers: list[str] = []
        if level != "service-managed":
            ltr = [
                LtrBackupTaken(b.backup_time, b.expiration_time)
                for b in sql.long_term_retention_backups(active_copy(tenant).database_id)
                if b.expiration_time is not None
            ]
            needs = backup_needs(
                uses=uses,
                pitr_retention_days=PITR_RETENTION_DAYS,
                geo_redundant=geo,
                ltr_backups=ltr,
            )
            for v in keyvault.key_versions(in_use):
                need = needs.get(v.kid)
                versions.append(
                    {
                        "version": v.version,
                        "kid": v.kid,
                        "enabled": v.enabled,
                        "created": v.created.isoformat(),
                        "expires": v.expires.isoformat() if v.expires else None,
                        "in_use": v.kid.lower() == in_use.lower(),
                        "needed_until": need.needed_until.isoformat()
                        if need and need.needed_until
                        else None,
                        "reasons": list(need.reasons) if need else [],
                    }
                )
            policy = tde.rotation_policy(in_use)
            policy_text = (
                f"rotate {policy.rotate_after_create} after creation"
                if policy.rotate_after_create
                else "no automatic rotation"
            ) + (f", versions expire after {policy.expiry}" if policy.expiry else "")
            if level == "server":
                covers = sorted(
                    tenants_on_server(active_copy(tenant).sql_server_id).values_list(
                        "slug", flat=True
                    )
                )
        auto = (
            sql.encryption_protector(active_copy(tenant).sql_server_id).auto_rotation_enabled
            if level == "server"
            else False
        )
    except AzureError as error:
        inventory.error = str(error)
        inventory.collected_at = timezone.now()
        inventory.save()
        return inventory
    inventory.level = level
    inventory.key_id = tenant.key_vault_key_id
    inventory.kid_in_use = in_use
    inventory.versions = versions
    inventory.rotation_policy = policy_text
    inventory.auto_rotation = auto
    inventory.covers = covers
    inventory.collected_at = timezone.now()
    inventory.error = ""
    inventory.save()
    return inventory


INVENTORY_FRESH = timedelta(minutes=10)


def key_inventory_request(*, tenant: Tenant) -> None:
    """Ask a worker to read the tenant's key inventory unless a fresh one is stored."""
    from keys.tasks import refresh_key_inventory

    fresh = KeyInventory.objects.filter(
        tenant=tenant, collected_at__gte=timezone.now() - INVENTORY_FRESH
    ).exists()
    if not fresh:
        transaction.on_commit(lambda: _enqueue_or_log(refresh_key_inventory, tenant.pk))


def _enqueue_or_log(task: Any, tenant_id: int) -> None:
    # The page says the inventory is not collected yet; a broker outage must not make it a 500.
    try:
        task.delay(tenant_id)
    except Exception:
        log.exception("could not enqueue the key inventory refresh of tenant %s", tenant_id)
