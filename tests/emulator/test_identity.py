"""Entra ID's shape: MSAL's authorization-code flow and azure-identity's client credentials."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import jwt
import msal
import pytest
import requests

from azure_emulator.testing import RunningEmulator

REDIRECT = "http://localhost:8000/auth/callback"
ARM = "https://management.azure.com/.default"


def _msal_app(emulator: RunningEmulator) -> msal.ConfidentialClientApplication:
    # REQUESTS_CA_BUNDLE would override MSAL's verify=, so MSAL gets its own session.
    session = requests.Session()
    session.trust_env = False
    session.verify = emulator.ca_bundle
    return msal.ConfidentialClientApplication(
        emulator.demo["client_id"],
        client_credential=emulator.demo["client_secret"],
        authority=emulator.demo["authority"],
        instance_discovery=False,
        http_client=session,
    )


def _person(emulator: RunningEmulator, role: str | None) -> dict[str, Any]:
    for person in emulator.demo["people"]:
        if (role is None and not person["roles"]) or role in person["roles"]:
            return dict(person)
    raise AssertionError(f"no demo person with role {role}")


def _pick_account(emulator: RunningEmulator, auth_uri: str, oid: str) -> httpx.Response:
    page = httpx.get(auth_uri, verify=emulator.tls)
    assert page.status_code == 200
    assert "Pick an account" in page.text
    fields = dict(parse_qsl(urlsplit(auth_uri).query))
    return httpx.post(
        auth_uri.split("?", 1)[0],
        data={**fields, "emulator_account": oid},
        verify=emulator.tls,
    )


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_account_picker_lists_every_demo_person_with_their_roles(emulator):
    app = _msal_app(emulator)
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT)
    page = httpx.get(flow["auth_uri"], verify=emulator.tls)
    for person in emulator.demo["people"]:
        assert person["name"] in page.text
        for role in person["roles"]:
            assert role in page.text


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_msal_auth_code_flow_returns_the_picked_persons_claims(emulator):
    app = _msal_app(emulator)
    support = _person(emulator, "Portal.Support")
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT)
    answer = _pick_account(emulator, flow["auth_uri"], support["oid"])
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    auth_response = dict(parse_qsl(urlsplit(location).query))
    assert auth_response["state"] == flow["state"]

    result = app.acquire_token_by_auth_code_flow(flow, auth_response)

    assert "error" not in result, result
    claims = result["id_token_claims"]
    assert claims["oid"] == support["oid"]
    assert claims["name"] == support["name"]
    assert claims["preferred_username"] == support["preferred_username"]
    assert claims["roles"] == ["Portal.Support"]
    assert claims["tid"] == emulator.tenant_id
    assert claims["aud"] == emulator.demo["client_id"]
    assert claims["iss"] == f"{emulator.demo['authority']}/v2.0"
    assert claims["ver"] == "2.0"
    # MSAL sends SHA-256 hex of its nonce and checks the claim against it.
    assert claims["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest()
    # client_info gives MSAL its account key (uid.utid), as with Entra ID.
    (account,) = app.get_accounts()
    assert account["home_account_id"] == f"{support['oid']}.{emulator.tenant_id}"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_id_token_verifies_against_the_published_jwks(emulator):
    app = _msal_app(emulator)
    admin = _person(emulator, "Portal.Admin")
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=REDIRECT, response_mode="form_post"
    )
    answer = _pick_account(emulator, flow["auth_uri"], admin["oid"])
    assert answer.status_code == 200
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', answer.text))
    result = app.acquire_token_by_auth_code_flow(flow, fields)
    config = httpx.get(
        f"{emulator.demo['authority']}/v2.0/.well-known/openid-configuration", verify=emulator.tls
    ).json()
    keys = httpx.get(config["jwks_uri"], verify=emulator.tls).json()["keys"]
    header = jwt.get_unverified_header(result["id_token"])
    key = next(k for k in keys if k["kid"] == header["kid"])

    claims = jwt.decode(
        result["id_token"],
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience=emulator.demo["client_id"],
        issuer=config["issuer"],
    )

    assert claims["roles"] == ["Portal.Admin"]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_person_without_roles_gets_an_empty_roles_claim(emulator):
    app = _msal_app(emulator)
    nobody = _person(emulator, None)
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT)
    answer = _pick_account(emulator, flow["auth_uri"], nobody["oid"])
    result = app.acquire_token_by_auth_code_flow(
        flow, dict(parse_qsl(urlsplit(answer.headers["location"]).query))
    )
    assert result["id_token_claims"]["roles"] == []


def test_the_account_manager_is_assigned_some_tenants(emulator):
    manager = _person(emulator, "Portal.AccountManager")
    slugs = {t["slug"] for t in emulator.tenants}
    assert manager["tenants"]
    assert set(manager["tenants"]) <= slugs


def _code(emulator: RunningEmulator, verifier: str) -> str:
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    )
    auth_uri = (
        f"{emulator.demo['authority']}/oauth2/v2.0/authorize?"
        + httpx.QueryParams(
            client_id=emulator.demo["client_id"],
            response_type="code",
            redirect_uri=REDIRECT,
            scope="openid profile",
            state="s1",
            code_challenge=challenge,
            code_challenge_method="S256",
        ).__str__()
    )
    answer = _pick_account(emulator, auth_uri, _person(emulator, "Portal.Support")["oid"])
    return dict(parse_qsl(urlsplit(answer.headers["location"]).query))["code"]


def _redeem(
    emulator: RunningEmulator, code: str, verifier: str, secret: str | None = None
) -> httpx.Response:
    return httpx.post(
        f"{emulator.demo['authority']}/oauth2/v2.0/token",
        data={
            "grant_type": "authorization_code",
            "client_id": emulator.demo["client_id"],
            "client_secret": secret or emulator.demo["client_secret"],
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        verify=emulator.tls,
    )


def test_it_refuses_a_code_verifier_that_does_not_match_the_challenge(emulator):
    code = _code(emulator, "a" * 50)
    answer = _redeem(emulator, code, "b" * 50)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_a_code_can_be_redeemed_only_once(emulator):
    verifier = "c" * 50
    code = _code(emulator, verifier)
    assert _redeem(emulator, code, verifier).status_code == 200
    again = _redeem(emulator, code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert again.json()["error_codes"] == [54005]
    assert "AADSTS54005" in again.json()["error_description"]


def test_an_unknown_code_is_refused_as_expired_not_as_reused(emulator):
    answer = _redeem(emulator, "not-a-code-we-issued", "e" * 50)
    assert answer.status_code == 400
    assert answer.json()["error_codes"] == [70008]


def test_rotated_signing_keys_are_both_published_and_new_tokens_use_the_new_one(emulator):
    before = jwt.get_unverified_header(emulator.credential().get_token(ARM).token)["kid"]

    rotated = emulator.control("POST", "identity/rotate-signing-key")

    config = httpx.get(
        f"{emulator.demo['authority']}/v2.0/.well-known/openid-configuration", verify=emulator.tls
    ).json()
    keys = {k["kid"]: k for k in httpx.get(config["jwks_uri"], verify=emulator.tls).json()["keys"]}
    assert rotated["kid"] != before
    assert set(keys) >= {before, rotated["kid"]}
    token = emulator.credential().get_token(ARM).token
    assert jwt.get_unverified_header(token)["kid"] == rotated["kid"]
    jwt.decode(
        token,
        jwt.PyJWK(keys[rotated["kid"]]).key,
        algorithms=["RS256"],
        audience="https://management.azure.com",
        options={"verify_iss": False},
    )


def test_it_refuses_a_wrong_client_secret(emulator):
    verifier = "d" * 50
    answer = _redeem(emulator, _code(emulator, verifier), verifier, secret="wrong")
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_client_credentials_through_azure_identity_carry_the_resource_audience(
    emulator, credential
):
    token = credential.get_token("https://management.azure.com/.default")
    claims = jwt.decode(token.token, options={"verify_signature": False})
    assert claims["aud"] == "https://management.azure.com"
    assert claims["tid"] == emulator.tenant_id
    assert claims["appid"] == emulator.demo["client_id"]
    vault = credential.get_token("https://vault.azure.net/.default")
    assert (
        jwt.decode(vault.token, options={"verify_signature": False})["aud"]
        == "https://vault.azure.net"
    )
