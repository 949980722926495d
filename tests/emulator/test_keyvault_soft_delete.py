"""Key Vault soft-delete through azure-keyvault-keys: deleted keys are listed, recovered whole, and
purged only when the vault has no purge protection (docs/azure-behaviours.md, "Key Vault
soft-delete and TDE keys")."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from tests.emulator import provider_clients as clients

pytestmark = pytest.mark.integration


@pytest.fixture
def client(fresh):
    return clients.keys(fresh)


@pytest.fixture
def key_name():
    return f"test-{uuid.uuid4().hex[:10]}"


def _deleted_names(client):
    return {k.name for k in client.list_deleted_keys()}


def test_a_deleted_key_is_kept_for_ninety_days_and_its_name_cannot_be_reused(client, key_name):
    client.create_rsa_key(key_name)

    deleted = client.begin_delete_key(key_name).result()

    assert deleted.recovery_id == f"{client.vault_url}/deletedkeys/{key_name}"
    assert deleted.scheduled_purge_date - deleted.deleted_date == timedelta(days=90)
    assert key_name in _deleted_names(client)
    assert client.get_deleted_key(key_name).properties.version == deleted.properties.version
    with pytest.raises(ResourceNotFoundError):
        client.get_key(key_name)
    assert key_name not in {k.name for k in client.list_properties_of_keys()}
    with pytest.raises(ResourceExistsError) as caught:
        client.create_rsa_key(key_name)
    assert "deleted but recoverable" in caught.value.message


def test_recovering_a_deleted_key_brings_back_every_version(client, key_name):
    first = client.create_rsa_key(key_name)
    second = client.rotate_key(key_name)
    client.begin_delete_key(key_name).result()

    recovered = client.begin_recover_deleted_key(key_name).result()

    assert recovered.properties.version == second.properties.version
    versions = {v.version for v in client.list_properties_of_key_versions(key_name)}
    assert versions == {first.properties.version, second.properties.version}
    assert key_name not in _deleted_names(client)


def test_purge_protection_refuses_a_purge_as_key_vault_does(client, key_name):
    client.create_rsa_key(key_name)
    client.begin_delete_key(key_name).result()

    with pytest.raises(HttpResponseError) as caught:
        client.purge_deleted_key(key_name)

    assert caught.value.status_code == 403
    assert caught.value.error.code == "Forbidden"
    assert 'Operation "purge" is not allowed because purge protection is enabled' in (
        caught.value.message
    )
    assert key_name in _deleted_names(client)


def test_without_purge_protection_a_purged_key_is_gone_and_its_name_free(fresh, client, key_name):
    fresh.control("POST", "keyvault/vault", {"purge_protection": False})
    client.create_rsa_key(key_name)
    client.begin_delete_key(key_name).result()

    client.purge_deleted_key(key_name)

    assert key_name not in _deleted_names(client)
    with pytest.raises(ResourceNotFoundError):
        client.get_deleted_key(key_name)
    assert client.create_rsa_key(key_name).name == key_name


def test_a_deleted_key_is_purged_by_key_vault_when_its_retention_ends(fresh, client, key_name):
    client.create_rsa_key(key_name)
    client.begin_delete_key(key_name).result()

    fresh.control("POST", "clock", {"advance_seconds": 91 * 24 * 3600})

    assert key_name not in _deleted_names(client)
    with pytest.raises(ResourceNotFoundError):
        client.begin_recover_deleted_key(key_name)


def test_recovering_or_purging_a_key_that_is_not_deleted_is_404(client, key_name):
    client.create_rsa_key(key_name)

    with pytest.raises(ResourceNotFoundError):
        client.begin_recover_deleted_key(key_name)
    with pytest.raises(ResourceNotFoundError):
        client.purge_deleted_key(key_name)
    assert client.get_key(key_name).name == key_name
