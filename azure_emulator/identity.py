"""Entra ID's shape under ``/{tenant}/``: OIDC discovery, JWKS, authorize, token, logout.

Tokens are RS256 JWTs signed with the directory's key. MSAL does not validate ID tokens
(docs/azure-behaviours.md §11.1), so the portal validates them against :func:`jwks` itself; ARM and Key Vault
requests are checked here by :func:`verify_access_token`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from azure_emulator.directory import Directory, Person, kid_of, save_signing_key

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

    def app_token(self, scope: str) -> tuple[str, str]:
        """A client-credentials access token: (token, audience)."""
        aud = _audience_of(scope, self.directory.client_id)
        sp = self.directory.service_principal_oid
        claims = self._base_claims(aud)
        claims.update(
            {
                "oid": sp,
                "sub": sp,
                "azp": self.directory.client_id,
                "appid": self.directory.client_id,
                "idtyp": "app",
                "roles": [],
            }
        )
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
            {"azp": self.directory.client_id, "scp": " ".join(resource_scopes) or "User.Read"}
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


def _jwk(public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    public_jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(public_key))
    public_jwk.update({"kid": kid_of(public_key), "use": "sig", "alg": "RS256", "kty": "RSA"})
    return public_jwk


# -- HTTP -----------------------------------------------------------------------------------------


def _oauth_error(error: str, description: str, status: int = 400, code: int = 0) -> JSONResponse:
    """Entra's token-endpoint error body (AADSTS codes in the description)."""
    return JSONResponse(
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description}" if code else description,
            "error_codes": [code] if code else [],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": secrets.token_hex(16),
            "correlation_id": secrets.token_hex(16),
        },
        status_code=status,
    )


def _redirect_allowed(directory: Directory, redirect_uri: str) -> bool:
    """Registered URIs, plus any loopback URL (Entra allows http only for loopback)."""
    if redirect_uri in directory.redirect_uris:
        return True
    parsed = urlsplit(redirect_uri)
    return parsed.scheme in ("http", "https") and parsed.hostname in (
        "localhost",
        "127.0.0.1",
        "::1",
    )


def routes(emulator: Emulator) -> list[Route]:
    identity = emulator.identity

    def tenant_ok(request: Request) -> bool:
        tenant = request.path_params["tenant"]
        return tenant in (emulator.directory.tenant_id, "organizations", "common")

    def unknown_tenant(request: Request) -> JSONResponse:
        return _oauth_error(
            "invalid_tenant",
            f"Tenant '{request.path_params['tenant']}' not found.",
            status=400,
            code=90002,
        )

    async def discovery(request: Request) -> Response:
        if not tenant_ok(request):
            return unknown_tenant(request)
        base = identity.authority
        return JSONResponse(
            {
                "issuer": identity.issuer,
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "client_secret_basic",
                ],
                "response_modes_supported": ["query", "fragment", "form_post"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256", "plain"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "claims_supported": [
                    "sub",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "nbf",
                    "name",
                    "nonce",
                    "oid",
                    "preferred_username",
                    "tid",
                    "ver",
                    "roles",
                ],
                "request_uri_parameter_supported": False,
                "tenant_region_scope": "OC",
                "cloud_instance_name": "emulator.local",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
            }
        )

    async def keys(request: Request) -> Response:
        return JSONResponse(identity.jwks())

    async def authorize(request: Request) -> Response:
        if not tenant_ok(request):
            return unknown_tenant(request)
        params: dict[str, str] = dict(request.query_params)
        if request.method == "POST":
            form = await request.form()
            params = {k: str(v) for k, v in form.items()}
        directory = emulator.directory
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if client_id != directory.client_id:
            return HTMLResponse(
                _page(
                    "Sign in",
                    f"<p>AADSTS700016: Application with identifier "
                    f"'{html.escape(client_id)}' was not found in the directory.</p>",
                ),
                status_code=400,
            )
        if not _redirect_allowed(directory, redirect_uri):
            return HTMLResponse(
                _page(
                    "Sign in",
                    "<p>AADSTS50011: The redirect URI specified in the request "
                    "does not match the redirect URIs configured for the application.</p>",
                ),
                status_code=400,
            )
        if params.get("response_type", "code") != "code":
            return _finish(
                params,
                {
                    "error": "unsupported_response_type",
                    "error_description": "Only response_type=code is supported.",
                },
            )
        chosen = params.get("emulator_account")
        if request.method == "POST" and chosen == "cancel":
            return _finish(
                params,
                {
                    "error": "access_denied",
                    "error_description": "AADSTS65004: User declined to consent.",
                },
            )
        person = directory.person(chosen) if chosen else None
        if request.method == "POST" and person is not None:
            code = identity.issue_code(
                AuthCode(
                    client_id=client_id,
                    redirect_uri=redirect_uri,
                    scope=params.get("scope", "openid").split(),
                    oid=person.oid,
                    nonce=params.get("nonce"),
                    code_challenge=params.get("code_challenge"),
                    code_challenge_method=params.get("code_challenge_method", "plain"),
                    expires=time.time() + CODE_LIFETIME,
                )
            )
            return _finish(params, {"code": code, "client_info": _client_info(person, directory)})
        return HTMLResponse(_account_picker(directory, params))

    async def token(request: Request) -> Response:
        if not tenant_ok(request):
            return unknown_tenant(request)
        form = {k: str(v) for k, v in (await request.form()).items()}
        directory = emulator.directory
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            decoded = base64.b64decode(basic[6:]).decode()
            client_id, _, secret = decoded.partition(":")
        if client_id != directory.client_id:
            return _oauth_error(
                "unauthorized_client",
                f"Application with identifier '{client_id}' was not found in the directory.",
                400,
                700016,
            )
        if not secrets.compare_digest(secret, directory.client_secret):
            return _oauth_error("invalid_client", "Invalid client secret provided.", 401, 7000215)
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            scope = form.get("scope", "").split()
            if len(scope) != 1 or not scope[0].endswith("/.default"):
                return _oauth_error(
                    "invalid_scope",
                    "The provided value for scope is not valid. "
                    "Client credential flows must have a scope value with /.default "
                    "suffixed to the resource identifier (application ID URI).",
                    400,
                    1002012,
                )
            access, _ = identity.app_token(scope[0])
            return JSONResponse(
                {
                    "token_type": "Bearer",
                    "expires_in": TOKEN_LIFETIME,
                    "ext_expires_in": TOKEN_LIFETIME,
                    "access_token": access,
                }
            )
        if grant == "authorization_code":
            code = identity.redeem_code(form.get("code", ""))
            if code is None and identity.was_redeemed(form.get("code", "")):
                return _oauth_error(
                    "invalid_grant",
                    "OAuth2 Authorization code was already redeemed, please retry with a new "
                    "valid code or use an existing refresh token.",
                    400,
                    54005,
                )
            if code is None or code.client_id != client_id:
                return _oauth_error(
                    "invalid_grant",
                    "The provided authorization code or refresh "
                    "token has expired due to inactivity, or was already redeemed.",
                    400,
                    70008,
                )
            if form.get("redirect_uri", "") != code.redirect_uri:
                return _oauth_error(
                    "invalid_grant",
                    "The reply URL specified in the request does "
                    "not match the reply URL used to request the code.",
                    400,
                    500112,
                )
            if code.code_challenge:
                verifier = form.get("code_verifier", "")
                if code.code_challenge_method.upper() == "S256":
                    digest = hashlib.sha256(verifier.encode()).digest()
                    computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
                else:
                    computed = verifier
                if not verifier or not secrets.compare_digest(computed, code.code_challenge):
                    return _oauth_error(
                        "invalid_grant",
                        "The code_verifier does not match the "
                        "code_challenge supplied in the authorization request for PKCE.",
                        400,
                        501481,
                    )
            person = directory.person(code.oid)
            if person is None:
                return _oauth_error("invalid_grant", "The user account does not exist.", 400, 50034)
            return JSONResponse(identity.user_tokens(person, code.scope, code.nonce))
        if grant == "refresh_token":
            refresh = identity.take_refresh(form.get("refresh_token", ""))
            person = directory.person(refresh.oid) if refresh else None
            if refresh is None or person is None or refresh.client_id != client_id:
                return _oauth_error(
                    "invalid_grant", "The refresh token has expired or is invalid.", 400, 70000
                )
            return JSONResponse(identity.user_tokens(person, refresh.scope, None))
        return _oauth_error(
            "unsupported_grant_type", f"The grant type '{grant}' is not supported.", 400, 70003
        )

    async def logout(request: Request) -> Response:
        target = request.query_params.get("post_logout_redirect_uri")
        if target and _redirect_allowed(emulator.directory, target):
            return RedirectResponse(target, status_code=302)
        return HTMLResponse(_page("Signed out", "<p>You have been signed out of the emulator.</p>"))

    return [
        Route("/{tenant}/v2.0/.well-known/openid-configuration", discovery),
        Route("/{tenant}/.well-known/openid-configuration", discovery),
        Route("/{tenant}/discovery/v2.0/keys", keys),
        Route("/{tenant}/discovery/keys", keys),
        Route("/{tenant}/oauth2/v2.0/authorize", authorize, methods=["GET", "POST"]),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        Route("/{tenant}/oauth2/v2.0/logout", logout, methods=["GET", "POST"]),
    ]


def _client_info(person: Person, directory: Directory) -> str:
    raw = json.dumps({"uid": person.oid, "utid": directory.tenant_id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _finish(params: dict[str, str], result: dict[str, str]) -> Response:
    """Send the authorize result to the redirect URI (query or form_post, as requested)."""
    redirect_uri = params["redirect_uri"]
    answer = dict(result)
    if params.get("state") is not None:
        answer["state"] = params["state"]
    if params.get("response_mode") == "form_post":
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in answer.items()
        )
        body = (
            "<!doctype html><html><head><title>Working...</title></head>"
            f'<body onload="document.forms[0].submit()"><form method="post" '
            f'action="{html.escape(redirect_uri)}">{fields}<noscript><button>Continue</button>'
            "</noscript></form></body></html>"
        )
        return HTMLResponse(body)
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(answer)}", status_code=302)


def _page(title: str, content: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;color:#1b1b1b}"
        "button.account{display:block;width:100%;text-align:left;padding:.7rem 1rem;margin:.5rem 0;"
        "border:1px solid #8a8886;background:#fff;border-radius:4px;cursor:pointer;font-size:1rem}"
        "button.account:hover{background:#f3f2f1}.roles{color:#605e5c;font-size:.85rem}"
        "</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{content}</body></html>"
    )


def _account_picker(directory: Directory, params: dict[str, str]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
        if k != "emulator_account"
    )
    buttons = []
    for person in directory.people:
        roles = ", ".join(person.roles) or "no portal role"
        extra = f" · tenants: {', '.join(person.tenants)}" if person.tenants else ""
        buttons.append(
            f'<button class="account" type="submit" name="emulator_account" '
            f'value="{html.escape(person.oid)}" data-username="{html.escape(person.preferred_username)}">'
            f"<strong>{html.escape(person.name)}</strong> &lt;{html.escape(person.preferred_username)}&gt;"
            f'<br><span class="roles">{html.escape(person.title)} · {html.escape(roles)}'
            f"{html.escape(extra)}</span></button>"
        )
    content = (
        "<p>Fleetwise Azure emulator — pick the demo person to sign in as.</p>"
        f'<form method="post">{hidden}{"".join(buttons)}'
        '<button type="submit" name="emulator_account" value="cancel">Cancel</button></form>'
    )
    return _page("Pick an account", content)
