"""portal.azure.tde through azure-mgmt-sql and azure-keyvault-keys against the emulator: both
levels of customer-managed TDE key (database and server), vault protection, wrap/unwrap checks."""

from __future__ import annotations

from typing import Any

import pytest

from portal.azure import keyvault, sql, tde
from portal.azure.clients import azure_clients
from portal.azure.errors import AzureOperationError

pytestmark = [pytest.mark.integration]


def _by_level(emulator: Any, level: str) -> dict[str, Any]:
    return next(t for t in emulator.tenants if t.get("key_level") == level)


def test_the_legacy_servers_tenants_share_a_server_level_key(large_emulator):
    tenants = [t for t in large_emulator.tenants if t.get("key_level") == "server"]

    assert len(tenants) >= 2
    assert len({t["sql_server_id"] for t in tenants}) == 1
    assert len({t["key_id"] for t in tenants}) == 1
    protector = sql.encryption_protector(tenants[0]["sql_server_id"])
    assert protector.server_key_type == "AzureKeyVault"
    assert protector.uri == tenants[0]["key_id"]
    database = sql.database_get(tenants[0]["database_id"])
    assert database.encryption_protector is None  # not a database-level key


def test_a_database_level_tenant_has_its_own_key_as_protector(large_emulator):
    tenant = _by_level(large_emulator, "database")
    database = sql.database_get(tenant["database_id"])

    assert database.encryption_protector == tenant["key_id"]
    assert sql.encryption_protector(tenant["sql_server_id"]).server_key_type == "ServiceManaged"


def test_the_seeded_vault_has_soft_delete_and_purge_protection(large_emulator):
    protection = tde.vault_protection(_by_level(large_emulator, "database")["key_id"])

    assert protection == tde.VaultProtection("Recoverable", True, True)


def test_a_vault_without_purge_protection_says_so(large_emulator):
    large_emulator.control("POST", "keyvault/vault", {"purge_protection": False})
    try:
        protection = tde.vault_protection(_by_level(large_emulator, "database")["key_id"])
    finally:
        large_emulator.control("POST", "keyvault/vault", {"purge_protection": True})

    assert protection.recovery_level == "Recoverable+Purgeable"
    assert protection.soft_delete and not protection.purge_protection


def test_a_rotation_policy_is_read_back(large_emulator):
    key_id = _by_level(large_emulator, "database")["key_id"]
    vault_url, name = keyvault.key_reference(key_id)
    from azure.keyvault.keys import KeyRotationLifetimeAction, KeyRotationPolicy

    azure_clients().keys(vault_url).update_key_rotation_policy(
        name,
        KeyRotationPolicy(
            lifetime_actions=[KeyRotationLifetimeAction("Rotate", time_after_create="P90D")],
            expires_in="P1Y",
        ),
    )

    policy = tde.rotation_policy(key_id)

    assert policy.rotate_after_create == "P90D"
    assert policy.expiry == "P1Y"


def test_database_level_rotation_switches_the_protector_online(large_emulator):
    tenant = _by_level(large_emulator, "database")
    new = tde.key_rotate(tenant["key_id"])

    token = tde.database_protector_set_begin(tenant["database_id"], new.kid)
    outcome = tde.database_update_wait(tenant["database_id"], token, timeout_seconds=30)
    tde.database_protector_revalidate(tenant["database_id"])

    assert outcome.succeeded
    database = sql.database_get(tenant["database_id"])
    assert database.encryption_protector == new.kid
    assert database.status == "Online"
    in_use = [k.uri for k in sql.database_keys(tenant["database_id"])]
    assert tenant["key_id"] in in_use and new.kid in in_use  # the old one for older backups


def test_server_level_rotation_adds_a_server_key_and_switches_the_protector(large_emulator):
    tenant = _by_level(large_emulator, "server")
    new = tde.key_rotate(tenant["key_id"])

    added = tde.server_key_add(tenant["sql_server_id"], new.kid)
    token = tde.server_protector_set_begin(tenant["sql_server_id"], new.kid)
    outcome = tde.server_protector_set_wait(tenant["sql_server_id"], token, timeout_seconds=30)
    tde.server_protector_revalidate(tenant["sql_server_id"])

    assert outcome.succeeded
    assert added.uri == new.kid
    assert sql.encryption_protector(tenant["sql_server_id"]).uri == new.kid
    names = {k.uri for k in sql.server_keys(tenant["sql_server_id"])}
    assert tenant["key_id"] in names  # the previous version stays a server key


def test_a_disabled_version_cannot_become_the_protector(large_emulator):
    tenant = _by_level(large_emulator, "database")
    new = tde.key_rotate(tenant["key_id"])
    tde.key_version_enabled_set(new.kid, enabled=False)

    with pytest.raises(AzureOperationError) as caught:
        tde.database_protector_set_begin(tenant["database_id"], new.kid)

    assert caught.value.code == "AzureKeyVaultKeyDisabled"
    assert sql.database_get(tenant["database_id"]).encryption_protector == tenant["key_id"]


def test_a_key_that_cannot_wrap_is_refused_as_a_server_key(large_emulator):
    tenant = _by_level(large_emulator, "server")
    vault_url = large_emulator.keyvault_url
    key = azure_clients().keys(vault_url).create_rsa_key("tde-no-wrap", key_operations=["sign"])

    with pytest.raises(AzureOperationError) as caught:
        tde.server_key_add(tenant["sql_server_id"], str(key.id))

    assert caught.value.code == "AzureKeyVaultMissingPermissions"


def test_a_failed_protector_switch_leaves_the_previous_protector(large_emulator):
    tenant = _by_level(large_emulator, "server")
    new = tde.key_rotate(tenant["key_id"])
    tde.server_key_add(tenant["sql_server_id"], new.kid)
    large_emulator.control(
        "POST",
        "faults/fail-lro",
        {"operation": "encryption_protectors.create_or_update", "code": "InternalServerError"},
    )

    token = tde.server_protector_set_begin(tenant["sql_server_id"], new.kid)
    outcome = tde.server_protector_set_wait(tenant["sql_server_id"], token, timeout_seconds=30)

    assert outcome.done and not outcome.succeeded
    assert sql.encryption_protector(tenant["sql_server_id"]).uri == tenant["key_id"]
