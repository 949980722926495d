"""Who is calling: an Entra ID bearer token, never the session cookie.

The token is validated in portal/azure/api_tokens.py and mapped to a portal user by
portal.services.api_caller_user: a person by their object id (groups from their app roles, as
at sign-in), an app by its service principal's object id (permissions from its API app roles).
A person's token must also carry one of the API's delegated scopes; writes need ReadWrite.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja.security import HttpBearer

from api.problems import Problem
from portal.azure.api_tokens import ApiCaller, ApiTokenError, api_caller
from portal.roles import API_SCOPE_READ, API_SCOPE_READ_WRITE
from portal.services import IdentityConflictError, NoPortalAccessError, api_caller_user


@dataclass(frozen=True)
class Principal:
    user: User
    caller: ApiCaller


def _unauthorised(reason: str, message: str) -> Problem:
    # RFC 6750 §3: the challenge says why, so a client knows to get a new token.
    description = message.replace('"', "'")
    return Problem(
        401,
        "unauthenticated",
        message,
        extra={"reason": reason},
        headers={
            "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'
        },
    )


class EntraBearer(HttpBearer):
    def __call__(self, request: HttpRequest) -> Principal | None:
        header = request.headers.get("Authorization", "")
        if not header:
            raise Problem(
                401,
                "unauthenticated",
                "Send an Entra ID access token for the portal's API: Authorization: Bearer <token>.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorised("malformed", "The Authorization header must be 'Bearer <token>'.")
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Principal | None:
        try:
            caller = api_caller(token)
        except ApiTokenError as exc:
            raise _unauthorised(exc.reason, exc.message) from exc
        if caller.kind == "user" and not {API_SCOPE_READ, API_SCOPE_READ_WRITE} & set(
            caller.scopes
        ):
            raise Problem(
                403,
                "insufficient-scope",
                f"The token carries none of the API's delegated scopes ({API_SCOPE_READ}, "
                f"{API_SCOPE_READ_WRITE}).",
                headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
            )
        try:
            user = api_caller_user(caller=caller)
        except (NoPortalAccessError, IdentityConflictError) as exc:
            raise Problem(403, "no-role", str(exc)) from exc
        # Audit events and the denied-access log read request.user; the session's user (if a
        # browser sent its cookie along) plays no part in the API.
        request.user = user
        return Principal(user=user, caller=caller)


def principal(request: HttpRequest) -> Principal:
    auth = getattr(request, "auth", None)
    if not isinstance(auth, Principal):
        raise Problem(401, "unauthenticated", "Not authenticated.")
    return auth


def caller_user(request: HttpRequest, *, write: bool = False) -> User:
    """The calling user; for a write, a person's token must carry the ReadWrite scope."""
    who = principal(request)
    if write and who.caller.kind == "user" and API_SCOPE_READ_WRITE not in who.caller.scopes:
        raise Problem(
            403,
            "insufficient-scope",
            f"This call changes something: the token needs the {API_SCOPE_READ_WRITE} scope.",
            headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
        )
    return who.user
