"""Tokens for the API tests, obtained from the emulator's Entra ID as callers would get them:
client credentials for the automation apps, the authorization-code flow (PKCE, account picker)
for people's delegated tokens. Forged tokens are signed with the emulator's own key (read from
its state folder) to make the validation failures Entra would never issue."""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command

from azure_emulator.testing import RunningEmulator
from tenants.models import Tenant
from tests.signin.conftest import person, pick_account

REDIRECT = "http://127.0.0.1/api-client/callback"

APPS = {
    "status_board": "Fleetwise Status Board",
    "runbooks": "Fleetwise Runbooks",
    "approver": "Fleetwise Change Approver",
    "sandbox": "Fleetwise Sandbox",
}
PEOPLE = {
    "support": "Portal.Support",
    "account_manager": "Portal.AccountManager",
    "admin": "Portal.Admin",
    "no_role": None,
}


@dataclass
class Tokens:
    emulator: RunningEmulator

    @property
    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.emulator.ca_bundle)

    @property
    def api_uri(self) -> str:
        return str(self.emulator.demo["api"]["app_id_uri"])

    def _token_endpoint(self) -> str:
        return f"{self.emulator.demo['authority']}/oauth2/v2.0/token"

    def app(self, caller: str, scope: str | None = None) -> str:
        """A client-credentials token of one of the demo's automation apps."""
        client = next(c for c in self.emulator.demo["api"]["clients"] if c["name"] == APPS[caller])
        answer = httpx.post(
            self._token_endpoint(),
            data={
                "grant_type": "client_credentials",
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
                "scope": scope or f"{self.api_uri}/.default",
            },
            verify=self._tls,
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def person(self, caller: str, scope: str = "Operations.ReadWrite") -> str:
        """A delegated token of a demo person, through the authorization-code flow."""
        demo = self.emulator.demo
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .decode()
            .rstrip("=")
        )
        query = {
            "client_id": demo["client_id"],
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "scope": f"openid profile {self.api_uri}/{scope}",
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        auth_uri = f"{demo['authority']}/oauth2/v2.0/authorize?{urlencode(query)}"
        back = pick_account(self.emulator, auth_uri, person(self.emulator, PEOPLE[caller])["oid"])
        answer = httpx.post(
            self._token_endpoint(),
            data={
                "grant_type": "authorization_code",
                "client_id": demo["client_id"],
                "client_secret": demo["client_secret"],
                "code": back.query["code"],
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
            },
            verify=self._tls,
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def id_token(self, caller: str) -> str:
        """A person's ID token (same audience as the API's, but not an access token)."""
        demo = self.emulator.demo
        query = {
            "client_id": demo["client_id"],
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "scope": "openid profile",
        }
        auth_uri = f"{demo['authority']}/oauth2/v2.0/authorize?{urlencode(query)}"
        back = pick_account(self.emulator, auth_uri, person(self.emulator, PEOPLE[caller])["oid"])
        answer = httpx.post(
            self._token_endpoint(),
            data={
                "grant_type": "authorization_code",
                "client_id": demo["client_id"],
                "client_secret": demo["client_secret"],
                "code": back.query["code"],
                "redirect_uri": REDIRECT,
            },
            verify=self._tls,
        )
        return str(answer.json()["id_token"])

    def forged(self, caller: str, *, key: Any = None, kid: str | None = None, **claims: Any) -> str:
        """A token of `caller` re-signed with `claims` changed (by the emulator's own key
        unless `key` is given)."""
        original = self.token(caller)
        assert original
        body = jwt.decode(original, options={"verify_signature": False})
        body.update(claims)
        header = jwt.get_unverified_header(original)
        signing_key = key or serialization.load_pem_private_key(
            (self.emulator.state_dir / "signing-key.pem").read_bytes(), password=None
        )
        assert isinstance(signing_key, rsa.RSAPrivateKey)
        return jwt.encode(
            body, signing_key, algorithm="RS256", headers={"kid": kid or header["kid"]}
        )

    def token(self, caller: str) -> str | None:
        if caller == "none":
            return None
        return self.app(caller) if caller in APPS else self.person(caller)


@pytest.fixture
def tokens(azure_emulator) -> Tokens:
    return Tokens(azure_emulator)


@pytest.fixture
def fleet(azure_emulator, settings) -> list[Tenant]:
    """The emulator's fleet in the catalogue (and the demo account manager's assignments)."""
    settings.PORTAL_ENVIRONMENT = "demo"
    settings.PORTAL_BREAK_GLASS_USERNAME = "demo"
    call_command("load_demo", stdout=io.StringIO())
    return list(Tenant.objects.order_by("slug"))


def bearer(token: str | None) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}


@pytest.fixture
def call(client) -> Callable[..., Any]:
    """`call(method, path, token, json=None)` through the Django test client."""

    def do(method: str, path: str, token: str | None, json: Any = None) -> Any:
        kwargs: dict[str, Any] = bearer(token)
        if json is not None:
            kwargs.update(data=json, content_type="application/json")
        return getattr(client, method.lower())(path, **kwargs)

    return do


def expired_claims() -> dict[str, int]:
    now = int(time.time())
    return {"iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
