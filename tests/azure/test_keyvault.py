"""portal.azure.keyvault through azure-keyvault-keys against the emulator."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.azure import keyvault
from portal.azure.clients import azure_clients
from portal.azure.errors import AzureNotFoundError, AzureTransientError
from tests.azure.conftest import unique

pytestmark = [pytest.mark.integration]


def test_it_lists_the_versions_of_a_tenants_key_oldest_first(azure_emulator, tenant):
    versions = keyvault.key_versions(tenant["key_id"])

    assert versions
    assert all(isinstance(v, keyvault.KeyVersion) for v in versions)
    assert versions[-1].kid.lower() == tenant["key_id"].lower()  # the current version
    assert [v.created for v in versions] == sorted(v.created for v in versions)
    assert all(v.created.utcoffset() == timedelta(0) for v in versions)
    assert all(v.kid.rsplit("/", 1)[-1] == v.version for v in versions)
    assert all(v.enabled for v in versions)


def test_a_versionless_key_id_lists_the_same_versions(azure_emulator, tenant):
    versionless = tenant["key_id"].rsplit("/", 1)[0]

    assert keyvault.key_versions(versionless) == keyvault.key_versions(tenant["key_id"])


def test_a_disabled_version_is_reported_disabled(azure_emulator):
    vault_url = azure_emulator.keyvault_url
    name = unique("tde-test")
    client = azure_clients().keys(vault_url)
    first = client.create_rsa_key(name, size=2048)
    second = client.rotate_key(name)
    client.update_key_properties(name, first.properties.version, enabled=False)

    versions = keyvault.key_versions(f"{vault_url}/keys/{name}")

    by_version = {v.version: v for v in versions}
    assert set(by_version) == {first.properties.version, second.properties.version}
    assert by_version[first.properties.version].enabled is False
    assert by_version[second.properties.version].enabled is True


def test_a_missing_key_is_not_found(azure_emulator):
    with pytest.raises(AzureNotFoundError):
        keyvault.key_versions(f"{azure_emulator.keyvault_url}/keys/{unique('no-such-key')}")


def test_an_unavailable_vault_is_transient(azure_emulator, tenant, faults):
    faults(
        "fail-next",
        operation="keyvault.keys.list_versions",
        count=4,
        status=503,
        code="ServiceUnavailable",
        message="The vault is unavailable",
        retry_after=0.1,
    )

    with pytest.raises(AzureTransientError) as caught:
        keyvault.key_versions(tenant["key_id"])

    assert caught.value.status == 503


@pytest.mark.parametrize(
    "key_id",
    [
        "http://127.0.0.1:8444/keys/tde-acme",
        "https://127.0.0.1:8444/secrets/tde-acme",
        "https://127.0.0.1:8444/keys",
        "tde-acme",
    ],
)
def test_something_that_is_not_a_key_id_is_refused(key_id):
    with pytest.raises(ValueError, match="Not a Key Vault key id"):
        keyvault.key_reference(key_id)


def test_the_vault_and_key_name_come_from_the_key_id():
    assert keyvault.key_reference("https://127.0.0.1:8444/keys/tde-acme/0123abcd") == (
        "https://127.0.0.1:8444",
        "tde-acme",
    )
