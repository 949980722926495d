"""The portal's API as a resource of the emulated Entra ID: daemon apps get app-only tokens
carrying the app roles granted to them, people get delegated tokens whose `scp` names the
API's scopes, and what the directory does not know is refused as Entra refuses it."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import jwt

from azure_emulator import directory
from azure_emulator.testing import RunningEmulator
from tests.emulator.test_identity import _person, _pick_account

REDIRECT = "http://localhost:8000/api-client/callback"


def _client(emulator: RunningEmulator, name: str) -> dict:
    return next(c for c in emulator.demo["api"]["clients"] if c["name"] == name)


def _client_credentials(emulator: RunningEmulator, client: dict, scope: str) -> httpx.Response:
    return httpx.post(
        f"{emulator.demo['authority']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
            "scope": scope,
        },
        verify=emulator.tls,
    )


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_demo_json_describes_the_api_and_its_automation_apps(emulator):
    api = emulator.demo["api"]
    assert api["app_id_uri"] == f"api://{emulator.demo['client_id']}"
    assert set(api["app_roles"]) == {"Fleet.Read", "Operations.Request", "Operations.Approve"}
    granted = {c["name"]: c["roles"] for c in api["clients"]}
    assert granted["Fleetwise Runbooks"] == ["Fleet.Read", "Operations.Request"]
    assert granted["Fleetwise Sandbox"] == []


def test_a_daemon_app_gets_an_app_only_token_with_its_app_roles_for_the_api(emulator):
    runbooks = _client(emulator, "Fleetwise Runbooks")
    answer = _client_credentials(
        emulator, runbooks, f"{emulator.demo['api']['app_id_uri']}/.default"
    )
    assert answer.status_code == 200, answer.text
    claims = _claims(answer.json()["access_token"])
    assert claims["aud"] == emulator.demo["client_id"]  # v2.0 tokens name the API by client id
    assert claims["roles"] == ["Fleet.Read", "Operations.Request"]
    assert claims["idtyp"] == "app"
    assert claims["azp"] == runbooks["client_id"]
    assert claims["oid"] == claims["sub"]
    assert "scp" not in claims


def test_an_app_granted_no_role_gets_a_token_without_a_roles_claim(emulator):
    sandbox = _client(emulator, "Fleetwise Sandbox")
    answer = _client_credentials(
        emulator, sandbox, f"{emulator.demo['api']['app_id_uri']}/.default"
    )
    assert answer.status_code == 200
    assert "roles" not in _claims(answer.json()["access_token"])


def test_app_roles_on_the_api_do_not_travel_to_other_resources(emulator):
    runbooks = _client(emulator, "Fleetwise Runbooks")
    answer = _client_credentials(emulator, runbooks, "https://management.azure.com/.default")
    claims = _claims(answer.json()["access_token"])
    assert claims["aud"] == "https://management.azure.com"
    assert "roles" not in claims


def test_an_unknown_app_id_uri_is_refused_as_entra_does(emulator):
    runbooks = _client(emulator, "Fleetwise Runbooks")
    answer = _client_credentials(emulator, runbooks, "api://not-registered/.default")
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_resource"
    assert answer.json()["error_codes"] == [500011]


def test_a_daemon_app_with_a_wrong_secret_is_refused(emulator):
    runbooks = {**_client(emulator, "Fleetwise Runbooks"), "client_secret": "wrong"}
    answer = _client_credentials(
        emulator, runbooks, f"{emulator.demo['api']['app_id_uri']}/.default"
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def _authorize(emulator: RunningEmulator, scope: str) -> str:
    query = {
        "client_id": emulator.demo["client_id"],
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": scope,
    }
    return f"{emulator.demo['authority']}/oauth2/v2.0/authorize?{urlencode(query)}"


def test_a_persons_delegated_token_for_the_api_carries_the_scope_value_and_their_roles(emulator):
    api = emulator.demo["api"]["app_id_uri"]
    support = _person(emulator, "Portal.Support")
    answer = _pick_account(
        emulator, _authorize(emulator, f"openid {api}/Operations.ReadWrite"), support["oid"]
    )
    code = dict(parse_qsl(urlsplit(answer.headers["location"]).query))["code"]
    tokens = httpx.post(
        f"{emulator.demo['authority']}/oauth2/v2.0/token",
        data={
            "grant_type": "authorization_code",
            "client_id": emulator.demo["client_id"],
            "client_secret": emulator.demo["client_secret"],
            "code": code,
            "redirect_uri": REDIRECT,
        },
        verify=emulator.tls,
    ).json()
    claims = _claims(tokens["access_token"])
    assert claims["aud"] == emulator.demo["client_id"]
    assert claims["scp"] == "Operations.ReadWrite"  # the value, without the App ID URI
    assert claims["roles"] == ["Portal.Support"]
    assert claims["oid"] == support["oid"]


def test_a_scope_the_api_does_not_expose_is_refused_at_authorize(emulator):
    api = emulator.demo["api"]["app_id_uri"]
    answer = httpx.get(_authorize(emulator, f"openid {api}/Everything.Write"), verify=emulator.tls)
    assert answer.status_code == 302
    result = dict(parse_qsl(urlsplit(answer.headers["location"]).query))
    assert result["error"] == "invalid_client"
    assert "AADSTS650053" in result["error_description"]


def test_a_directory_saved_before_the_automation_apps_gains_them_once(tmp_path):
    first = directory.load_or_create(tmp_path, seed=7)
    saved = json.loads((tmp_path / directory.IDENTITY_FILE).read_text())
    saved.pop("client_apps")
    (tmp_path / directory.IDENTITY_FILE).write_text(json.dumps(saved))

    upgraded = directory.load_or_create(tmp_path, seed=7)
    again = directory.load_or_create(tmp_path, seed=7)

    assert [a.client_id for a in upgraded.client_apps] == [a.client_id for a in first.client_apps]
    assert [a.client_secret for a in again.client_apps] == [
        a.client_secret for a in upgraded.client_apps
    ]
    assert upgraded.client_id == first.client_id
