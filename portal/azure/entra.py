"""Staff sign-in with Entra ID: MSAL's authorization-code flow with PKCE, and ID-token validation.

MSAL 1.38+ no longer validates ID tokens (docs/azure-behaviours.md §11.1), so `sign_in_complete` checks the
signature against the identity provider's JWKS, and the issuer, audience, tenant and lifetime.
The same code runs against Entra ID and the emulator; only the authority and CA differ.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
import msal
import requests

from portal.azure.connection import AzureConnection, PerConnection

log = logging.getLogger(__name__)

SCOPES: list[str] = []  # openid, profile and offline_access are always added by MSAL
JWKS_LIFETIME = 3600
CLOCK_SKEW_SECONDS = 60


@dataclass(frozen=True)
class SignedInIdentity:
    oid: str
    tid: str
    name: str
    username: str
    roles: tuple[str, ...]


class SignInError(Exception):
    """Sign-in refused. `reason` is a short code for the audit trail; the message is for people.

    When a token was received, the audit trail records who tried: `who` when its signature
    verified (the token is Entra's, refused for its tenant, audience, issuer or age), else
    `claimed`, the names a token we could not verify merely claims."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        who: SignedInIdentity | None = None,
        claimed: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.who = who
        self.claimed = claimed


def _http_session(connection: AzureConnection) -> requests.Session:
    session = requests.Session()
    if connection.ca_bundle:
        # REQUESTS_CA_BUNDLE in the environment would override `verify` (docs/azure-behaviours.md §11.1).
        session.trust_env = False
        session.verify = connection.ca_bundle
    return session


class _Provider:
    """The MSAL app and the provider's OIDC metadata and keys, built once per process."""

    def __init__(self, connection: AzureConnection) -> None:
        self.connection = connection
        self.session = _http_session(connection)
        self._lock = threading.RLock()
        self._app: msal.ConfidentialClientApplication | None = None
        self._metadata: dict[str, Any] | None = None
        self._jwks: jwt.PyJWKSet | None = None
        self._jwks_fetched = 0.0

    def app(self) -> msal.ConfidentialClientApplication:
        with self._lock:
            if self._app is None:
                conn = self.connection
                credential: str | dict[str, str] = conn.client_secret
                if conn.client_certificate_path:
                    with open(conn.client_certificate_path, encoding="utf-8") as pem:
                        credential = {
                            "private_key": pem.read(),
                            "thumbprint": conn.client_certificate_thumbprint,
                        }
                self._app = msal.ConfidentialClientApplication(
                    conn.client_id,
                    client_credential=credential,
                    authority=conn.authority,
                    http_client=self.session,
                    # Instance discovery asks login.microsoftonline.com about the authority,
                    # which knows nothing of the emulator.
                    instance_discovery=not conn.is_emulator,
                    timeout=15,
                )
            return self._app

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is None:
                url = f"{self.connection.authority}/v2.0/.well-known/openid-configuration"
                response = self.session.get(url, timeout=15)
                response.raise_for_status()
                self._metadata = response.json()
            return self._metadata

    def signing_key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            if self._jwks is None or time.monotonic() - self._jwks_fetched > JWKS_LIFETIME:
                self._fetch_jwks()
            key = self._find_key(kid)
            if key is None:
                # The provider may have rolled its keys since we fetched them.
                self._fetch_jwks()
                key = self._find_key(kid)
        if key is None:
            raise SignInError("invalid_token", "The sign-in token was signed with an unknown key.")
        return key

    def _fetch_jwks(self) -> None:
        response = self.session.get(self.metadata()["jwks_uri"], timeout=15)
        response.raise_for_status()
        self._jwks = jwt.PyJWKSet.from_dict(response.json())
        self._jwks_fetched = time.monotonic()

    def _find_key(self, kid: str) -> jwt.PyJWK | None:
        keys = self._jwks.keys if self._jwks else []
        return next((key for key in keys if key.key_id == kid), None)


_provider = PerConnection(_Provider)


def sign_in_begin(*, redirect_uri: str) -> dict[str, Any]:
    """Start the flow: returns MSAL's flow dict (keep it in the server-side session);
    `flow["auth_uri"]` is where to send the browser."""
    provider = _provider()
    try:
        with warnings.catch_warnings():
            # MSAL suggests form_post; the callback must be a top-level GET so that the
            # SameSite=Lax session cookie holding the flow comes with it.
            warnings.simplefilter("ignore", UserWarning)
            flow: dict[str, Any] = provider.app().initiate_auth_code_flow(
                SCOPES, redirect_uri=redirect_uri, response_mode="query"
            )
    except Exception as exc:
        # Building the MSAL app reads the provider's OpenID configuration over the network.
        log.exception("MSAL could not start a sign-in")
        raise SignInError(
            "provider_unreachable", "Entra ID could not be reached; try again in a minute."
        ) from exc
    return flow


def sign_in_complete(*, flow: dict[str, Any], response: dict[str, str]) -> SignedInIdentity:
    """Redeem the code and validate the ID token; raises SignInError with a reason code."""
    provider = _provider()
    try:
        result = provider.app().acquire_token_by_auth_code_flow(flow, response)
    # Order matters: requests' JSON errors are ValueErrors too.
    except requests.RequestException as exc:
        raise SignInError("provider_unreachable", f"Entra ID could not be reached: {exc}") from exc
    except ValueError as exc:
        # MSAL raises ValueError when the state does not match the flow.
        raise SignInError(
            "bad_state", f"The sign-in response did not match this browser's sign-in: {exc}"
        ) from exc
    except RuntimeError as exc:
        # MSAL raises RuntimeError (IdTokenError) when the ID token's nonce is not this flow's,
        # or the token's claims are unusable.
        reason = "bad_nonce" if "nonce" in str(exc).lower() else "invalid_token"
        raise SignInError(
            reason,
            "The sign-in token did not belong to this browser's sign-in. Please sign in again.",
        ) from exc
    except Exception as exc:
        # Anything else MSAL raises (a damaged flow in the session: KeyError, TypeError, …)
        # is still a refused sign-in, never a server error.
        log.exception("MSAL failed to complete a sign-in")
        raise SignInError(
            "sign_in_failed", "The sign-in could not be completed. Please sign in again."
        ) from exc
    if "error" in result:
        description = result.get("error_description") or result["error"]
        raise SignInError(
            f"provider_{result['error']}",
            f"Entra ID refused the sign-in: {description.splitlines()[0]}",
        )
    return validate_id_token(result.get("id_token", ""))


def validate_id_token(id_token: str) -> SignedInIdentity:
    provider = _provider()
    connection = provider.connection
    metadata = provider.metadata()
    try:
        header = jwt.get_unverified_header(id_token)
        key = provider.signing_key(str(header.get("kid", "")))
        claims: dict[str, Any] = jwt.decode(
            id_token,
            key=key,
            algorithms=["RS256"],
            audience=connection.client_id,
            leeway=CLOCK_SKEW_SECONDS,
            options={
                "require": ["exp", "iat", "nbf", "iss", "aud", "tid", "oid"],
                "verify_iss": False,
            },
        )
    # PyJWT checks the signature before the times and the audience: these two were Entra's.
    except jwt.ExpiredSignatureError as exc:
        raise SignInError(
            "expired",
            "The sign-in token has expired; please sign in again.",
            who=_identity(_unverified_claims(id_token)),
        ) from exc
    except jwt.InvalidAudienceError as exc:
        raise SignInError(
            "wrong_audience",
            "The sign-in token was issued for another application.",
            who=_identity(_unverified_claims(id_token)),
        ) from exc
    except jwt.PyJWTError as exc:
        raise SignInError(
            "invalid_token",
            f"The sign-in token is not valid: {exc}",
            claimed=_claimed_names(id_token),
        ) from exc
    identity = _identity(claims)
    if identity.tid.lower() != connection.tenant_id.lower():
        raise SignInError(
            "wrong_tenant",
            "Accounts from another Entra ID tenant cannot use this portal.",
            who=identity,
        )
    if claims["iss"] != metadata["issuer"]:
        raise SignInError(
            "wrong_issuer",
            "The sign-in token was issued by an unexpected authority.",
            who=identity,
        )
    return identity


def _identity(claims: dict[str, Any]) -> SignedInIdentity:
    return SignedInIdentity(
        oid=str(claims.get("oid", "")),
        tid=str(claims.get("tid", "")),
        name=str(claims.get("name", "")),
        username=str(claims.get("preferred_username", "")),
        roles=tuple(str(role) for role in claims.get("roles", [])),
    )


def _unverified_claims(id_token: str) -> dict[str, Any]:
    """The payload without checking it: only for tokens already known to be signed, or to
    report what an unverifiable one claims."""
    try:
        claims = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def _claimed_names(id_token: str) -> dict[str, str] | None:
    claims = _unverified_claims(id_token)
    names = {key: str(claims[key])[:200] for key in ("name", "preferred_username") if key in claims}
    return names or None


def sign_out_url(*, post_logout_redirect_uri: str) -> str:
    """Entra's end-session endpoint, which brings the browser back to the portal afterwards."""
    endpoint = str(_provider().metadata()["end_session_endpoint"])
    return f"{endpoint}?{urlencode({'post_logout_redirect_uri': post_logout_redirect_uri})}"


def provider_signing_key(kid: str) -> jwt.PyJWK:
    """The identity provider's published key `kid`, from the cached JWKS (fetched again when the
    key is unknown: Entra rolls its keys). Raises SignInError for a key it does not publish."""
    return _provider().signing_key(kid)


def provider_issuer() -> str:
    """The issuer Entra puts in v2.0 tokens for the portal's tenant (from its OIDC metadata)."""
    return str(_provider().metadata()["issuer"])
