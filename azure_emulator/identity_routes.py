"""Entra ID's endpoints under ``/{tenant}/``: OIDC discovery, JWKS, authorize, token, logout.

Plain module-level handlers declared on :data:`router` (as ARM providers declare theirs); the
token issuing and checking they call lives in :mod:`azure_emulator.identity`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from azure_emulator.directory import API_SCOPES, Directory, Person
from azure_emulator.identity import CODE_LIFETIME, TOKEN_LIFETIME, AuthCode, Identity
from azure_emulator.plain_routes import PlainRoute, PlainRouter

if TYPE_CHECKING:
    from azure_emulator.runtime import Emulator

router = PlainRouter()


def routes(emulator: Emulator) -> list[Route]:
    """Entra ID's Starlette routes, bound to ``emulator``."""
    return router.starlette_routes(_serve, emulator)


async def _serve(emulator: Emulator, route: PlainRoute, request: Request) -> Response:
    response: Response = await route.handler(emulator, request)
    return response


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


def _unknown_tenant(emulator: Emulator, request: Request) -> JSONResponse | None:
    """AADSTS90002 for a tenant other than ours (or ``organizations``/``common``)."""
    tenant = request.path_params["tenant"]
    if tenant in (emulator.directory.tenant_id, "organizations", "common"):
        return None
    return _oauth_error("invalid_tenant", f"Tenant '{tenant}' not found.", status=400, code=90002)


# -- discovery and keys -------------------------------------------------------------------------


@router.route(
    "/{tenant}/v2.0/.well-known/openid-configuration", "/{tenant}/.well-known/openid-configuration"
)
async def discovery(emulator: Emulator, request: Request) -> Response:
    refusal = _unknown_tenant(emulator, request)
    if refusal is not None:
        return refusal
    return JSONResponse(_discovery_document(emulator.identity))


def _discovery_document(identity: Identity) -> dict[str, Any]:
    base = identity.authority
    return {
        "issuer": identity.issuer,
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
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


@router.route("/{tenant}/discovery/v2.0/keys", "/{tenant}/discovery/keys")
async def keys(emulator: Emulator, request: Request) -> Response:
    return JSONResponse(emulator.identity.jwks())


# -- authorize ----------------------------------------------------------------------------------


@router.route("/{tenant}/oauth2/v2.0/authorize", methods=("GET", "POST"))
async def authorize(emulator: Emulator, request: Request) -> Response:
    refusal = _unknown_tenant(emulator, request)
    if refusal is not None:
        return refusal
    params: dict[str, str] = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        params = {k: str(v) for k, v in form.items()}
    directory = emulator.directory
    refused = _authorize_refusal(directory, params)
    if refused is not None:
        return refused
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
        code = emulator.identity.issue_code(_auth_code(params, person))
        return _finish(params, {"code": code, "client_info": _client_info(person, directory)})
    return HTMLResponse(_account_picker(directory, params))


def _authorize_refusal(directory: Directory, params: dict[str, str]) -> Response | None:
    """Entra's answers to an authorize request it will not serve: an unknown app or redirect
    URI (a page, never a redirect) or a response type other than ``code``."""
    client_id = params.get("client_id", "")
    if client_id != directory.client_id:
        return HTMLResponse(
            _page(
                "Sign in",
                f"<p>AADSTS700016: Application with identifier "
                f"'{html.escape(client_id)}' was not found in the directory.</p>",
            ),
            status_code=400,
        )
    if not _redirect_allowed(directory, params.get("redirect_uri", "")):
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
    missing = _undefined_api_scopes(params.get("scope", "").split(), directory)
    if missing:
        return _finish(
            params,
            {
                "error": "invalid_client",
                "error_description": f"AADSTS650053: The application asked for scope "
                f"'{missing[0]}' that doesn't exist on the resource.",
            },
        )
    return None


def _undefined_api_scopes(scopes: list[str], directory: Directory) -> list[str]:
    """Delegated permissions asked of the portal's API that it does not expose."""
    prefix = f"api://{directory.client_id}/"
    return [
        s[len(prefix) :]
        for s in scopes
        if s.startswith(prefix) and s[len(prefix) :] not in (*API_SCOPES, ".default")
    ]


def _unknown_api_resource(scope: str, directory: Directory) -> JSONResponse | None:
    """Only the portal's own App ID URI is an ``api://`` resource the directory knows."""
    resource = scope.rsplit("/", 1)[0]
    if resource.startswith("api://") and resource != f"api://{directory.client_id}":
        return _oauth_error(
            "invalid_resource",
            f"The resource principal named {resource} was not found in the tenant.",
            400,
            500011,
        )
    return None


def _auth_code(params: dict[str, str], person: Person) -> AuthCode:
    return AuthCode(
        client_id=params.get("client_id", ""),
        redirect_uri=params.get("redirect_uri", ""),
        scope=params.get("scope", "openid").split(),
        oid=person.oid,
        nonce=params.get("nonce"),
        code_challenge=params.get("code_challenge"),
        code_challenge_method=params.get("code_challenge_method", "plain"),
        expires=time.time() + CODE_LIFETIME,
    )


# -- token --------------------------------------------------------------------------------------


@router.route("/{tenant}/oauth2/v2.0/token", methods=("POST",))
async def token(emulator: Emulator, request: Request) -> Response:
    refusal = _unknown_tenant(emulator, request)
    if refusal is not None:
        return refusal
    form = {k: str(v) for k, v in (await request.form()).items()}
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    basic = request.headers.get("authorization", "")
    if basic.lower().startswith("basic "):
        decoded = base64.b64decode(basic[6:]).decode()
        client_id, _, secret = decoded.partition(":")
    directory = emulator.directory
    daemon = directory.client_app(client_id)
    if client_id != directory.client_id and daemon is None:
        return _oauth_error(
            "unauthorized_client",
            f"Application with identifier '{client_id}' was not found in the directory.",
            400,
            700016,
        )
    expected = daemon.client_secret if daemon else directory.client_secret
    if not secrets.compare_digest(secret, expected):
        return _oauth_error("invalid_client", "Invalid client secret provided.", 401, 7000215)
    grant = form.get("grant_type", "")
    redeem = GRANTS.get(grant)
    if redeem is None:
        return _oauth_error(
            "unsupported_grant_type", f"The grant type '{grant}' is not supported.", 400, 70003
        )
    return redeem(emulator, form, client_id)


def _client_credentials(emulator: Emulator, form: dict[str, str], client_id: str) -> Response:
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
    refusal = _unknown_api_resource(scope[0], emulator.directory)
    if refusal is not None:
        return refusal
    access, _ = emulator.identity.app_token(scope[0], emulator.directory.client_app(client_id))
    return JSONResponse(
        {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "ext_expires_in": TOKEN_LIFETIME,
            "access_token": access,
        }
    )


def _authorization_code(emulator: Emulator, form: dict[str, str], client_id: str) -> Response:
    identity = emulator.identity
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
    if code.code_challenge and not _pkce_verified(code, form.get("code_verifier", "")):
        return _oauth_error(
            "invalid_grant",
            "The code_verifier does not match the "
            "code_challenge supplied in the authorization request for PKCE.",
            400,
            501481,
        )
    person = emulator.directory.person(code.oid)
    if person is None:
        return _oauth_error("invalid_grant", "The user account does not exist.", 400, 50034)
    return JSONResponse(identity.user_tokens(person, code.scope, code.nonce))


def _pkce_verified(code: AuthCode, verifier: str) -> bool:
    """The verifier matches the challenge the authorize request carried (S256 or plain)."""
    if code.code_challenge_method.upper() == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    else:
        computed = verifier
    return bool(verifier) and secrets.compare_digest(computed, code.code_challenge or "")


def _refresh_token(emulator: Emulator, form: dict[str, str], client_id: str) -> Response:
    refresh = emulator.identity.take_refresh(form.get("refresh_token", ""))
    person = emulator.directory.person(refresh.oid) if refresh else None
    if refresh is None or person is None or refresh.client_id != client_id:
        return _oauth_error(
            "invalid_grant", "The refresh token has expired or is invalid.", 400, 70000
        )
    return JSONResponse(emulator.identity.user_tokens(person, refresh.scope, None))


GRANTS: dict[str, Callable[[Emulator, dict[str, str], str], Response]] = {
    "client_credentials": _client_credentials,
    "authorization_code": _authorization_code,
    "refresh_token": _refresh_token,
}


# -- logout and pages ---------------------------------------------------------------------------


@router.route("/{tenant}/oauth2/v2.0/logout", methods=("GET", "POST"))
async def logout(emulator: Emulator, request: Request) -> Response:
    target = request.query_params.get("post_logout_redirect_uri")
    if target and _redirect_allowed(emulator.directory, target):
        return RedirectResponse(target, status_code=302)
    return HTMLResponse(_page("Signed out", "<p>You have been signed out of the emulator.</p>"))


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
