"""HTTPS, TLS 1.2 minimum, bearer tokens on every ARM and Key Vault request, the control token."""

from __future__ import annotations

import socket
import ssl
import warnings

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError

from azure_emulator.testing import RunningEmulator


def _handshake(emulator: RunningEmulator, maximum: ssl.TLSVersion) -> str:
    context = ssl.create_default_context(cafile=emulator.ca_bundle)
    with warnings.catch_warnings():
        # Python deprecates TLS 1.0/1.1 constants; offering them is the point of this test.
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = maximum
    # Let this client offer old protocols at all; the server must be the one refusing.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with (
        socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        return str(tls.version())


def test_tls_1_2_is_accepted(emulator):
    assert _handshake(emulator, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"


def test_tls_1_1_is_refused(emulator):
    with pytest.raises(ssl.SSLError):
        _handshake(emulator, ssl.TLSVersion.TLSv1_1)


def test_plain_http_is_not_served(emulator):
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{emulator.port}/_emulator/health", timeout=3)


def test_arm_without_a_token_answers_401_in_arms_shape(emulator):
    sub = emulator.subscription_ids[0]
    answer = httpx.get(
        f"{emulator.arm_endpoint}/subscriptions/{sub}/providers/Microsoft.Sql/servers?api-version=2025-01-01",
        verify=emulator.tls,
    )
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "AuthenticationFailed"
    assert "Retry-After" not in answer.headers


def test_arm_refuses_a_token_for_another_audience(emulator, credential):
    vault_token = credential.get_token("https://vault.azure.net/.default").token
    answer = httpx.get(
        f"{emulator.arm_endpoint}/subscriptions/{emulator.subscription_ids[0]}/providers/Microsoft.Sql/servers",
        headers={"Authorization": f"Bearer {vault_token}"},
        verify=emulator.tls,
    )
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"


def test_the_sdk_surfaces_a_bad_credential_as_an_authentication_error(emulator):
    from azure.mgmt.sql import SqlManagementClient

    class WrongAudience:
        def __init__(self, inner):
            self.inner = inner

        def get_token(self, *scopes, **kwargs):
            return self.inner.get_token("https://vault.azure.net/.default")

        def get_token_info(self, *scopes, options=None):
            return self.inner.get_token_info("https://vault.azure.net/.default")

    tenant = emulator.tenants[0]
    client = SqlManagementClient(
        WrongAudience(emulator.credential()),
        tenant["subscription_id"],
        base_url=emulator.arm_endpoint,
        connection_verify=emulator.ca_bundle,
    )
    with pytest.raises(ClientAuthenticationError) as caught:
        client.servers.get(tenant["sql_resource_group"], tenant["sql_server_name"])
    assert caught.value.error.code == "InvalidAuthenticationTokenAudience"


def test_key_vault_answers_the_sdk_challenge_like_key_vault(emulator):
    answer = httpx.get(
        f"{emulator.keyvault_url}/keys/anything/?api-version=2025-07-01", verify=emulator.tls
    )
    assert answer.status_code == 401
    challenge = answer.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'authorization="{emulator.demo["authority"]}"' in challenge
    assert 'resource="https://vault.azure.net"' in challenge


def test_the_control_api_needs_the_control_token(emulator):
    answer = httpx.get(f"{emulator.arm_endpoint}/_emulator/state", verify=emulator.tls)
    assert answer.status_code == 401
    assert emulator.control("GET", "operation-names")["arm"]


def test_an_unknown_route_answers_404_with_a_clear_code(emulator, credential):
    token = credential.get_token("https://management.azure.com/.default").token
    answer = httpx.get(
        f"{emulator.arm_endpoint}/subscriptions/{emulator.subscription_ids[0]}/providers/Microsoft.Nope/things",
        headers={"Authorization": f"Bearer {token}"},
        verify=emulator.tls,
    )
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "EmulatorRouteNotFound"
