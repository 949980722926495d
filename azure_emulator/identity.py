"""Entra ID's tokens: authorization codes, access and ID tokens, refresh grants, signing keys.

The HTTP endpoints under ``/{tenant}/`` (discovery, JWKS, authorize, token, logout) are in
:mod:`azure_emulator.identity_routes`. Tokens are RS256 JWTs signed with the directory's key. MSAL does not validate ID tokens
(docs/azure-behaviours.md §11.1), so the portal validates them against :func:`jwks` itself; ARM and Key Vault
requests are checked here by :func:`verify_access_token`.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from azure_emulator.directory import ClientApp, Directory, Person, kid_of, save_signing_key

if TYPE_CHECKING:
    from azure_emulator.runtime import Emulator

TOKEN_LIFETIME = 3600
CODE_LIFETIME = 600
GRAPH_AUDIENCE = "00000003-0000-0000-c000-000000000000"


class TokenError(Exception):
    """Why an access token was refused; ``code`` follows ARM's 401 codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    scope: list[str]
    oid: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str
    expires: float


@dataclass
class RefreshGrant:
    client_id: str
    oid: str
    scope: list[str]


class Identity:
    """Issues and checks tokens for one emulated tenant."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self._lock = threading.Lock()
        # Codes and refresh tokens live in memory: after a restart people sign in again.
        self._codes: dict[str, AuthCode] = {}
        # Redeemed codes (value → when they would have expired): a second redemption is told
        # apart from an unknown code, as Entra does (AADSTS54005).
        self._redeemed: dict[str, float] = {}
        self._refresh: dict[str, RefreshGrant] = {}
        # Public keys rotated out: still published in the JWKS, no longer used to sign.
        self._retired_keys: list[rsa.RSAPublicKey] = []

    @property
    def directory(self) -> Directory:
        return self.emulator.directory

    @property
    def authority(self) -> str:
        return f"{self.emulator.config.arm_base}/{self.directory.tenant_id}"

    @property
    def issuer(self) -> str:
        return f"{self.authority}/v2.0"

    # -- tokens -------------------------------------------------------------------------------

    def _sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(
            claims, self.directory.key, algorithm="RS256", headers={"kid": self.directory.kid}
        )

    def _base_claims(self, aud: str) -> dict[str, Any]:
        now = int(time.time())
        return {
            "aud": aud,
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME,
            "tid": self.directory.tenant_id,
            "ver": "2.0",
            "uti": secrets.token_urlsafe(16),
        }

    def app_token(self, scope: str, client: ClientApp | None = None) -> tuple[str, str]:
        """A client-credentials access token: (token, audience).

        ``client`` is a daemon app (None: the portal itself). A token for the portal's API
        carries the app roles granted to the caller in ``roles``; the ``idtyp`` optional claim
        says it is an app-only token, which a resource needs to tell it from a person's."""
        aud = _audience_of(scope, self.directory.client_id)
        client_id = client.client_id if client else self.directory.client_id
        sp = client.service_principal_oid if client else self.directory.service_principal_oid
        claims = self._base_claims(aud)
        claims.update(
            {
                "oid": sp,
                "sub": sp,
                "azp": client_id,
                "appid": client_id,
                "azpacr": "1",  # authenticated with a client secret
                "idtyp": "app",
            }
        )
        roles = list(client.api_roles) if client and aud == self.directory.client_id else []
        if roles or client is None:
            # Entra leaves ``roles`` out when the caller holds no role on the resource.
            claims["roles"] = roles
        return self._sign(claims), aud

    def user_tokens(self, person: Person, scope: list[str], nonce: str | None) -> dict[str, Any]:
        """access_token, id_token, refresh_token and client_info for a signed-in person."""
        resource_scopes = [
            s for s in scope if s not in ("openid", "profile", "offline_access", "email")
        ]
        aud = (
            _audience_of(resource_scopes[0], self.directory.client_id)
            if resource_scopes
            else GRAPH_AUDIENCE
        )
        person_claims = {
            "oid": person.oid,
            "sub": person.oid,
            "name": person.name,
            "preferred_username": person.preferred_username,
            "roles": list(person.roles),
        }
        access = self._base_claims(aud)
        access.update(person_claims)
        access.update(
            {
                "azp": self.directory.client_id,
                "scp": " ".join(_scope_claim(s) for s in resource_scopes) or "User.Read",
            }
        )
        identity_claims = self._base_claims(self.directory.client_id)
        identity_claims.update(person_claims)
        if nonce:
            identity_claims["nonce"] = nonce
        client_info = json.dumps({"uid": person.oid, "utid": self.directory.tenant_id})
        result: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join(resource_scopes or ["User.Read"]) + " openid profile",
            "expires_in": TOKEN_LIFETIME,
            "ext_expires_in": TOKEN_LIFETIME,
            "access_token": self._sign(access),
            "id_token": self._sign(identity_claims),
            "client_info": base64.urlsafe_b64encode(client_info.encode()).decode().rstrip("="),
        }
        if "offline_access" in scope:
            refresh = secrets.token_urlsafe(32)
            with self._lock:
                self._refresh[refresh] = RefreshGrant(self.directory.client_id, person.oid, scope)
            result["refresh_token"] = refresh
        return result

    def verify_access_token(self, authorization: str | None, audience: str) -> dict[str, Any]:
        """The claims of a valid bearer token for ``audience``; :class:`TokenError` otherwise."""
        if not authorization:
            raise TokenError(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
            )
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenError(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is provided in an invalid format.",
            )
        try:
            claims: dict[str, Any] = jwt.decode(
                token.strip(),
                self._verification_key(token.strip()),
                algorithms=["RS256"],
                # ARM accepts its audience with and without the trailing slash.
                audience=[audience, audience + "/"],
                issuer=self.issuer,
                options={"require": ["exp", "iat", "aud", "iss", "tid"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError(
                "ExpiredAuthenticationToken",
                "The access token expiry UTC time is earlier than current UTC time.",
            ) from exc
        except jwt.InvalidAudienceError as exc:
            raise TokenError(
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource. It should "
                f"exactly match with one of the allowed audiences '{audience}','{audience}/'.",
            ) from exc
        except jwt.PyJWTError as exc:
            raise TokenError("InvalidAuthenticationToken", "The access token is invalid.") from exc
        return claims

    # -- authorization codes ---------------------------------------------------------------------

    def issue_code(self, code: AuthCode) -> str:
        value = secrets.token_urlsafe(32)
        with self._lock:
            now = time.time()
            self._codes = {k: v for k, v in self._codes.items() if v.expires > now}
            self._codes[value] = code
        return value

    def redeem_code(self, value: str) -> AuthCode | None:
        """Codes are single use: redeeming removes the code whether or not the rest checks out."""
        with self._lock:
            now = time.time()
            code = self._codes.pop(value, None)
            self._redeemed = {k: v for k, v in self._redeemed.items() if v > now}
            if code is not None:
                self._redeemed[value] = code.expires
        if code is None or code.expires < now:
            return None
        return code

    def was_redeemed(self, value: str) -> bool:
        with self._lock:
            return value in self._redeemed

    # -- signing keys ------------------------------------------------------------------------------

    def _verification_key(self, token: str) -> rsa.RSAPublicKey:
        """The published key the token names (tokens signed before a rotation stay valid)."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            kid = None
        current = self.directory.key.public_key()
        return next((k for k in self._retired_keys if kid_of(k) == kid), current)

    def rotate_signing_key(self) -> str:
        """Sign with a new key from now on; the old one stays in the JWKS (Entra publishes the
        next and the previous keys beside the current one). Returns the new ``kid``."""
        with self._lock:
            directory = self.directory
            self._retired_keys.append(directory.key.public_key())
            directory.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        save_signing_key(self.emulator.config.state_dir, directory)
        return directory.kid

    def jwks(self) -> dict[str, Any]:
        keys = [self.directory.key.public_key(), *reversed(self._retired_keys)]
        return {"keys": [_jwk(key) for key in keys]}

    def take_refresh(self, value: str) -> RefreshGrant | None:
        with self._lock:
            return self._refresh.pop(value, None)


def _audience_of(scope: str, client_id: str) -> str:
    """The ``aud`` for a scope: ``https://management.azure.com/.default`` → the resource URI."""
    if "://" not in scope:
        # A bare permission (User.Read) is a Graph scope; ``<client id>/.default`` is our app.
        return client_id if scope.split("/", 1)[0] == client_id else GRAPH_AUDIENCE
    # Drop the last segment: ``.default`` or a delegated permission name.
    resource = scope.rsplit("/", 1)[0]
    return client_id if resource == f"api://{client_id}" else resource


def _scope_claim(scope: str) -> str:
    """``scp`` holds a delegated permission's value without the resource (``api://…/X`` → ``X``)."""
    value = scope.rsplit("/", 1)[-1]
    return value if "://" in scope else scope


def _jwk(public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    public_jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(public_key))
    public_jwk.update({"kid": kid_of(public_key), "use": "sig", "alg": "RS256", "kty": "RSA"})
    return public_jwk
