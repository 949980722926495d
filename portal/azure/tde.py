"""Customer-managed TDE keys: Key Vault versions and vault protection, server keys and the server
protector, database-level keys and protector (docs/azure-behaviours.md).

A rotation is: a new key version in Key Vault (`key_rotate`) → made available to the server
(`server_key_add`) or the database (its `keys`) → the protector switched to it
(`server_protector_set_*` / `database_protector_set_*`) → checked (`*_revalidate`). Each call is
idempotent, so a step re-run after a crash finds its work done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from azure.core.polling import LROPoller
from azure.mgmt.sql import models as sql_models

from portal.azure import lro, sql_patch
from portal.azure.clients import azure_clients
from portal.azure.errors import azure_errors
from portal.azure.keyvault import KeyVersion, key_reference
from portal.azure.lro import LroOutcome
from portal.azure.resource_ids import parse
from portal.azure.sql import DATABASE, SERVER, ServerKey, server_keys

# Key Vault's deletion recovery levels with soft-delete on; those without "Purgeable" also have
# purge protection (Learn: DeletionRecoveryLevel). TDE with a customer-managed key needs both.
_SOFT_DELETE_LEVELS = frozenset(
    {
        "Recoverable",
        "Recoverable+Purgeable",
        "Recoverable+ProtectedSubscription",
        "CustomizedRecoverable",
        "CustomizedRecoverable+Purgeable",
        "CustomizedRecoverable+ProtectedSubscription",
    }
)


@dataclass(frozen=True)
class VaultProtection:
    recovery_level: str
    soft_delete: bool
    purge_protection: bool


@dataclass(frozen=True)
class RotationPolicy:
    """Key Vault's rotation policy of a key: rotate this long after creation (ISO 8601), expire
    new versions after `expiry`; None where the policy does not say."""

    rotate_after_create: str | None
    rotate_before_expiry: str | None
    expiry: str | None


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.fromtimestamp(0, tz=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _version_of(props: Any) -> KeyVersion:
    return KeyVersion(
        version=str(props.version),
        kid=str(props.id),
        enabled=bool(props.enabled),
        created=_utc(props.created_on),
        not_before=_utc(props.not_before) if props.not_before else None,
        expires=_utc(props.expires_on) if props.expires_on else None,
    )


def server_key_name(kid: str) -> str:
    """Azure's name for a server key: `{vault}_{key}_{version}`."""
    url = urlsplit(kid)
    parts = [p for p in url.path.split("/") if p]
    if len(parts) != 3:
        raise ValueError(f"A server key needs a versioned Key Vault key id, not {kid!r}")
    return f"{url.hostname.split('.')[0] if url.hostname else ''}_{parts[1]}_{parts[2]}"


# -- Key Vault ---------------------------------------------------------------------------------------


def vault_protection(key_id: str) -> VaultProtection:
    """Soft-delete and purge protection of the key's vault, read from the key's recovery level
    (the data plane shows the vault's setting on every key)."""
    vault_url, name = key_reference(key_id)
    with azure_errors():
        key = azure_clients().keys(vault_url).get_key(name)
    raw = key.properties.recovery_level
    level = str(raw.value) if isinstance(raw, Enum) else str(raw or "")
    return VaultProtection(
        recovery_level=level,
        soft_delete=level in _SOFT_DELETE_LEVELS,
        purge_protection=level in _SOFT_DELETE_LEVELS and "Purgeable" not in level,
    )


def rotation_policy(key_id: str) -> RotationPolicy:
    vault_url, name = key_reference(key_id)
    with azure_errors():
        policy = azure_clients().keys(vault_url).get_key_rotation_policy(name)
    after = before = None
    for action in policy.lifetime_actions or []:
        if str(action.action).lower().endswith("rotate"):
            after = action.time_after_create
            before = action.time_before_expiry
    return RotationPolicy(
        rotate_after_create=after, rotate_before_expiry=before, expiry=policy.expires_in
    )


def key_rotate(key_id: str) -> KeyVersion:
    """A new current version of the key (same type, size and operations)."""
    vault_url, name = key_reference(key_id)
    with azure_errors():
        key = azure_clients().keys(vault_url).rotate_key(name)
    return _version_of(key.properties)


def key_version_get(kid: str) -> KeyVersion:
    vault_url, name = key_reference(kid)
    version = kid.rstrip("/").rsplit("/", 1)[-1]
    with azure_errors():
        key = azure_clients().keys(vault_url).get_key(name, version)
    return _version_of(key.properties)


def key_version_enabled_set(kid: str, *, enabled: bool) -> KeyVersion:
    """Enable or disable one version. Callers check first that no backup still needs it
    (keys.rules.backup_needs): a disabled version makes those backups unrestorable."""
    vault_url, name = key_reference(kid)
    version = kid.rstrip("/").rsplit("/", 1)[-1]
    with azure_errors():
        props = (
            azure_clients().keys(vault_url).update_key_properties(name, version, enabled=enabled)
        )
    return _version_of(props.properties)


# -- server level ------------------------------------------------------------------------------------


def server_key_add(server_id: str, kid: str, *, timeout_seconds: float = 120) -> ServerKey:
    """Make a Key Vault key version usable by the server (a server key). Adding one that is
    there already changes nothing."""
    ref = parse(server_id, expect=SERVER)
    client = azure_clients().sql(ref.subscription_id)
    name = server_key_name(kid)
    body = sql_models.ServerKey(
        properties=sql_models.ServerKeyProperties(server_key_type="AzureKeyVault", uri=kid)
    )

    def start(polling: Any) -> LROPoller[Any]:
        return client.server_keys.begin_create_or_update(
            ref.resource_group, ref.name, name, body, polling=polling
        )

    lro.run(start, timeout_seconds=timeout_seconds)
    return next(k for k in server_keys(server_id) if k.name.lower() == name.lower())


def server_protector_set_begin(server_id: str, kid: str, *, auto_rotation: bool = False) -> str:
    """Switch the server's TDE protector to the server key of `kid` (an LRO; re-encrypts only
    the database encryption keys, online). Returns the continuation token."""
    ref = parse(server_id, expect=SERVER)
    client = azure_clients().sql(ref.subscription_id)
    body = sql_models.EncryptionProtector(
        properties=sql_models.EncryptionProtectorProperties(
            server_key_type="AzureKeyVault",
            server_key_name=server_key_name(kid),
            auto_rotation_enabled=auto_rotation,
        )
    )

    def start(polling: Any) -> LROPoller[Any]:
        return client.encryption_protectors.begin_create_or_update(
            ref.resource_group, ref.name, "current", body, polling=polling
        )

    return lro.begin(start)


def server_protector_set_wait(
    server_id: str, continuation_token: str, *, timeout_seconds: float
) -> LroOutcome:
    ref = parse(server_id, expect=SERVER)
    client = azure_clients().sql(ref.subscription_id)

    def resume(polling: Any, token: str) -> LROPoller[Any]:
        return client.encryption_protectors.begin_create_or_update(
            ref.resource_group, ref.name, "current", {}, polling=polling, continuation_token=token
        )

    return lro.wait(resume, continuation_token, timeout_seconds=timeout_seconds)


def server_protector_revalidate(server_id: str, *, timeout_seconds: float = 60) -> None:
    """Azure checks the server's identity can still get, wrap and unwrap with the protector."""
    ref = parse(server_id, expect=SERVER)
    client = azure_clients().sql(ref.subscription_id)

    def start(polling: Any) -> LROPoller[Any]:
        return client.encryption_protectors.begin_revalidate(
            ref.resource_group, ref.name, "current", polling=polling
        )

    lro.run(start, timeout_seconds=timeout_seconds)


# -- database level ----------------------------------------------------------------------------------


def database_key_add_begin(database_id: str, kid: str) -> str:
    """Add `kid` to the database's keys without switching to it (Azure checks the database's
    identity can use it). Returns the continuation token (poll with database_update_wait)."""
    return sql_patch.patch_begin(database_id, {"properties": {"keys": {kid: {}}}})


def database_keys_held(database_id: str) -> set[str]:
    """Every key version (lower-case kid) in the database's keys: its protector, earlier
    protectors and versions added but never switched to (`$expand=keys` without a point in
    time). A geo-secondary must hold its primary's protector."""
    ref = parse(database_id, expect=DATABASE)
    client = azure_clients().sql(ref.subscription_id)
    with azure_errors():
        db = client.databases.get(
            ref.resource_group, ref.name_of("servers"), ref.name, expand="keys"
        )
    return {
        str(kid).lower() for kid in (db.properties.keys_property if db.properties else None) or {}
    }


def database_protector_set_begin(database_id: str, kid: str) -> str:
    """Add `kid` to the database's keys and make it the database's protector (a PATCH; the
    database stays online). Returns the continuation token."""
    body = {"properties": {"keys": {kid: {}}, "encryptionProtector": kid}}
    return sql_patch.patch_begin(database_id, body)


def database_update_wait(
    database_id: str, continuation_token: str, *, timeout_seconds: float
) -> LroOutcome:
    """Poll any database PATCH begun here or in scaling.py."""
    return sql_patch.patch_wait(database_id, continuation_token, timeout_seconds=timeout_seconds)


def database_protector_revalidate(database_id: str, *, timeout_seconds: float = 60) -> None:
    ref = parse(database_id, expect=DATABASE)
    client = azure_clients().sql(ref.subscription_id)

    def start(polling: Any) -> LROPoller[Any]:
        return client.database_encryption_protectors.begin_revalidate(
            ref.resource_group, ref.name_of("servers"), ref.name, "current", polling=polling
        )

    lro.run(start, timeout_seconds=timeout_seconds)
