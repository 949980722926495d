"""Bearer tokens for the portal's JSON API: Entra ID access tokens, validated by the portal.

The same keys, issuer and tenant as the sign-in's ID token (portal/azure/entra.py, whose cached
JWKS with re-fetch on an unknown key is reused), but the audience is the portal's API — its
client id, or its App ID URI `api://<client id>` — and the token must be an access token: a
person's delegated token carries `scp`, an app-only token carries `idtyp: app` (an optional
claim the app registration must emit; docs/api.md). An ID token, which has the same audience,
is neither and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import jwt
import requests

from portal.azure.connection import azure_connection
from portal.azure.entra import (
    CLOCK_SKEW_SECONDS,
    SignInError,
    provider_issuer,
    provider_signing_key,
)


class ApiTokenError(Exception):
    """The bearer token is not acceptable. `reason` is a short code for the audit trail."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class ApiCaller:
    """Who is calling: a person through a client app (delegated), or an app on its own."""

    kind: Literal["user", "app"]
    oid: str
    tid: str
    client_id: str  # the app that obtained the token (azp)
    name: str
    username: str
    roles: tuple[str, ...]
    scopes: tuple[str, ...]


def api_audiences() -> list[str]:
    client_id = azure_connection().client_id
    return [client_id, f"api://{client_id}"]


def _claims(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise ApiTokenError("malformed", "The bearer token is not a JWT.") from exc
    if header.get("alg") != "RS256":
        raise ApiTokenError("bad_algorithm", "The bearer token must be signed with RS256.")
    try:
        key = provider_signing_key(str(header.get("kid", "")))
    except SignInError as exc:
        raise ApiTokenError(
            "unknown_key", "The bearer token was signed with a key Entra ID does not publish."
        ) from exc
    except requests.RequestException as exc:
        raise ApiTokenError(
            "provider_unreachable", "Entra ID's signing keys could not be read; try again."
        ) from exc
    try:
        return jwt.decode(
            token,
            key=key,
            algorithms=["RS256"],
            audience=api_audiences(),
            issuer=provider_issuer(),
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "iat", "nbf", "iss", "aud", "tid", "oid", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise ApiTokenError("expired", "The bearer token has expired.") from exc
    except jwt.InvalidAudienceError as exc:
        raise ApiTokenError(
            "wrong_audience", "The bearer token was issued for another API (audience)."
        ) from exc
    except jwt.InvalidIssuerError as exc:
        raise ApiTokenError(
            "wrong_issuer", "The bearer token was issued by another authority."
        ) from exc
    except jwt.InvalidSignatureError as exc:
        raise ApiTokenError("bad_signature", "The bearer token's signature is not valid.") from exc
    except jwt.PyJWTError as exc:
        raise ApiTokenError("invalid_token", f"The bearer token is not valid: {exc}") from exc


def api_caller(token: str) -> ApiCaller:
    """Validate an access token for the portal's API; raises ApiTokenError saying why not."""
    claims = _claims(token)
    if str(claims["tid"]).lower() != azure_connection().tenant_id.lower():
        raise ApiTokenError("wrong_tenant", "The bearer token is from another Entra ID tenant.")
    roles = tuple(str(role) for role in claims.get("roles", []))
    oid, tid = str(claims["oid"]).lower(), str(claims["tid"]).lower()
    client_id = str(claims.get("azp") or claims.get("appid") or "")
    if "scp" in claims:
        return ApiCaller(
            kind="user",
            oid=oid,
            tid=tid,
            client_id=client_id,
            name=str(claims.get("name", "")),
            username=str(claims.get("preferred_username", "")),
            roles=roles,
            scopes=tuple(str(claims["scp"]).split()),
        )
    if claims.get("idtyp") == "app" and claims["oid"] == claims["sub"]:
        return ApiCaller(
            kind="app",
            oid=oid,
            tid=tid,
            client_id=client_id,
            name="",
            username="",
            roles=roles,
            scopes=(),
        )
    raise ApiTokenError(
        "not_an_access_token",
        "The bearer token is not an access token for this API (an ID token, perhaps).",
    )
