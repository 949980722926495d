"""Key Vault keys data plane through azure-keyvault-keys (api-version 2025-07-01)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.keys import KeyClient, KeyRotationLifetimeAction, KeyRotationPolicyAction

from tests.emulator import provider_clients as clients

pytestmark = pytest.mark.integration

HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def client(emulator):
    return clients.keys(emulator)


@pytest.fixture
def key_name():
    # Keys of our own: the tenants' tde-* keys are what Microsoft.Sql checks restores against.
    return f"test-{uuid.uuid4().hex[:10]}"


def test_an_unauthenticated_request_gets_the_bearer_challenge(emulator):
    response = clients.raw(
        emulator, "GET", f"{emulator.keyvault_url}/keys?api-version=2025-07-01", audience=None
    )

    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'authorization="{emulator.demo["authority"]}"' in challenge
    assert 'resource="https://vault.azure.net"' in challenge


def test_a_token_for_arm_is_refused_by_the_vault(emulator):
    response = clients.raw(emulator, "GET", f"{emulator.keyvault_url}/keys?api-version=2025-07-01")

    assert response.status_code == 401


def test_the_sdk_refuses_the_challenge_unless_resource_verification_is_off(emulator):
    strict = KeyClient(
        emulator.keyvault_url, emulator.credential(), connection_verify=emulator.ca_bundle
    )

    with pytest.raises(ValueError, match="does not match the requested domain"):
        list(strict.list_properties_of_keys())


def test_it_creates_an_rsa_key_with_real_material_and_key_vault_shapes(emulator, client, key_name):
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=365)

    key = client.create_rsa_key(key_name, size=3072, expires_on=expires, tags={"purpose": "test"})

    assert key.id == f"{emulator.keyvault_url}/keys/{key_name}/{key.properties.version}"
    assert HEX32.match(key.properties.version)
    assert key.key_type == "RSA"
    assert len(key.key.n) == 384 and key.key.e == b"\x01\x00\x01"
    assert key.properties.expires_on == expires
    assert key.properties.enabled is True
    assert key.properties.tags == {"purpose": "test"}
    assert key.properties.recovery_level == "Recoverable"
    raw = clients.raw(
        emulator,
        "GET",
        f"{emulator.keyvault_url}/keys/{key_name}/?api-version=2025-07-01",
        audience="https://vault.azure.net",
    ).json()
    assert all(isinstance(raw["attributes"][k], int) for k in ("created", "updated", "exp"))


def test_it_creates_an_ec_key(client, key_name):
    key = client.create_ec_key(key_name, curve="P-384")

    assert key.key_type == "EC"
    assert key.key.crv == "P-384"
    assert len(key.key.x) == 48 and len(key.key.y) == 48


def test_get_without_a_version_returns_the_latest(client, key_name):
    first = client.create_rsa_key(key_name)
    second = client.rotate_key(key_name)

    latest = client.get_key(key_name)
    pinned = client.get_key(key_name, first.properties.version)

    assert latest.properties.version == second.properties.version != first.properties.version
    assert pinned.id == first.id
    assert pinned.key.n == first.key.n


def test_rotation_keeps_the_type_size_and_operations(client, key_name):
    first = client.create_rsa_key(key_name, size=4096, key_operations=["wrapKey", "unwrapKey"])

    rotated = client.rotate_key(key_name)

    assert rotated.key.n != first.key.n
    assert len(rotated.key.n) == 512
    assert rotated.key_operations == ["wrapKey", "unwrapKey"]
    assert rotated.properties.created_on >= first.properties.created_on


def test_it_lists_versions_page_by_page_in_key_vault_order(client, key_name):
    client.create_rsa_key(key_name)
    made = [client.get_key(key_name).properties.version]
    for _ in range(3):
        made.append(client.rotate_key(key_name).properties.version)

    pages = list(client.list_properties_of_key_versions(key_name, max_page_size=3).by_page())
    versions = [p.version for page in pages for p in page]

    assert [
        len(list(page))
        for page in client.list_properties_of_key_versions(key_name, max_page_size=3).by_page()
    ] == [3, 1]
    # Key Vault orders versions by id, not by age: callers must sort by created_on themselves.
    assert versions == sorted(made)


def test_it_lists_keys_without_versions(emulator, client, key_name):
    client.create_rsa_key(key_name)

    listed = list(client.list_properties_of_keys(max_page_size=5))

    names = [p.name for p in listed]
    assert key_name in names
    assert {t["key_name"] for t in emulator.tenants} <= set(names)
    assert all(p.version is None for p in listed)
    assert names == sorted(names, key=str.lower)


def test_a_seeded_tenant_key_has_its_versions_and_the_current_one_matches_the_fleet(
    emulator, client
):
    tenant = emulator.tenants[0]

    key = client.get_key(tenant["key_name"])
    versions = list(client.list_properties_of_key_versions(tenant["key_name"]))

    assert key.id == tenant["key_id"]
    assert 1 <= len(versions) <= 3
    assert max(versions, key=lambda v: v.created_on).version == key.properties.version


def test_a_disabled_version_cannot_be_read_until_enabled_again(client, key_name):
    key = client.create_rsa_key(key_name)
    version = key.properties.version

    disabled = client.update_key_properties(key_name, version, enabled=False)
    assert disabled.properties.enabled is False
    with pytest.raises(HttpResponseError) as caught:
        client.get_key(key_name, version)
    assert caught.value.status_code == 403
    assert "disabled" in caught.value.message
    listed = next(client.list_properties_of_key_versions(key_name))
    assert listed.enabled is False

    client.update_key_properties(key_name, version, enabled=True)
    assert client.get_key(key_name, version).properties.enabled is True


def test_update_without_a_version_changes_the_latest_and_sets_expiry_and_tags(client, key_name):
    client.create_rsa_key(key_name)
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=90)

    updated = client.update_key_properties(key_name, expires_on=expires, tags={"owner": "ops"})

    assert updated.properties.expires_on == expires
    assert updated.properties.tags == {"owner": "ops"}
    assert updated.properties.updated_on >= updated.properties.created_on
    assert client.get_key(key_name).properties.expires_on == expires


def test_a_key_without_a_policy_reports_key_vaults_default(client, key_name):
    client.create_rsa_key(key_name)

    policy = client.get_key_rotation_policy(key_name)

    assert policy.id is None
    assert [(a.action, a.time_before_expiry) for a in policy.lifetime_actions] == [
        (KeyRotationPolicyAction.notify, "P30D")
    ]


def test_a_rotation_policy_is_saved_and_rotates_the_key_when_due(emulator, client, key_name):
    first = client.create_rsa_key(key_name)
    policy = client.update_key_rotation_policy(
        key_name,
        client.get_key_rotation_policy(key_name),
        lifetime_actions=[
            KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P30D"),
            KeyRotationLifetimeAction(KeyRotationPolicyAction.notify, time_before_expiry="P10D"),
        ],
        expires_in="P90D",
    )
    assert policy.id.endswith(f"/keys/{key_name}/rotationpolicy")
    assert policy.expires_in == "P90D"
    assert client.get_key_rotation_policy(key_name).expires_in == "P90D"

    emulator.control("POST", "clock", {"advance_seconds": 31 * 86400})
    try:
        current = client.get_key(key_name)
    finally:
        emulator.control("POST", "clock", {"offset_seconds": 0})

    assert current.properties.version != first.properties.version
    created = current.properties.created_on
    assert created - first.properties.created_on == timedelta(days=30)
    assert current.properties.expires_on - created == timedelta(days=90)


def test_a_rotation_policy_with_a_short_expiry_is_refused(client, key_name):
    client.create_rsa_key(key_name)

    with pytest.raises(HttpResponseError) as caught:
        client.update_key_rotation_policy(
            key_name,
            client.get_key_rotation_policy(key_name),
            lifetime_actions=[
                KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P7D")
            ],
            expires_in="P14D",
        )

    assert caught.value.status_code == 400
    assert "28 days" in caught.value.message


def test_a_missing_key_or_version_is_404(client, key_name):
    client.create_rsa_key(key_name)

    with pytest.raises(ResourceNotFoundError):
        client.get_key("no-such-key")
    with pytest.raises(ResourceNotFoundError):
        client.get_key(key_name, "0" * 32)
    with pytest.raises(ResourceNotFoundError):
        client.rotate_key("no-such-key")


def test_an_invalid_key_name_is_refused(client):
    with pytest.raises(HttpResponseError) as caught:
        client.create_rsa_key("bad_name")

    assert caught.value.status_code == 400


def test_during_a_regional_outage_the_vault_is_read_only(emulator, client, key_name):
    client.create_rsa_key(key_name)

    with clients.regional_outage(emulator):
        assert client.get_key(key_name).name == key_name
        with pytest.raises(HttpResponseError) as caught:
            client.rotate_key(key_name)

    assert caught.value.status_code == 503
    assert "read-only" in caught.value.message
    assert client.rotate_key(key_name).name == key_name
