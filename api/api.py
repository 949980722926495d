"""The JSON API for automation: django-ninja, under /api/v1/ (docs/api.md).

Every endpoint needs an Entra ID bearer token (api/auth.py); the OpenAPI schema and its
interactive page are for signed-in staff of the portal (session, any role). Every error is a
problem-details document (api/problems.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Router, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError

from api.auth import EntraBearer
from api.problems import FieldError, Problem, field_of, problem_response
from api.routers import operations, restores, tenants
from portal.audit import audit_record
from portal.models import AuditEvent
from portal.roles import VIEW_TENANT

log = logging.getLogger(__name__)


def _staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    # The schema says what the API can do; people with a portal role may read it.
    return login_required(permission_required(VIEW_TENANT, raise_exception=True)(view))


api = NinjaAPI(
    title="Fleetwise Ops API",
    version="1",
    description=(
        "Tenants, operations and restores for automation. Authenticate with an Entra ID access "
        "token for the portal's API (a person's delegated token with the Operations.Read or "
        "Operations.ReadWrite scope, or an app-only token with the Fleet.Read, "
        "Operations.Request or Operations.Approve app role). Errors are RFC 9457 problem details."
    ),
    auth=EntraBearer(),
    urls_namespace="api-v1",
    docs=Swagger(settings={"persistAuthorization": False}),
    docs_decorator=_staff_only,
)
api.add_router("", tenants.router)
api.add_router("", operations.router)
api.add_router("", restores.router)


# Registered last, so it only catches what no endpoint above matched.
fallback = Router()


@fallback.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"],
    "/{path:rest}",
    auth=None,
    include_in_schema=False,
    url_name="unknown",
)
def unknown(request: HttpRequest, rest: str) -> HttpResponse:
    """Anything else under /api/v1/ is a problem document too, not the pages' HTML 404."""
    raise Problem(404, "not-found", f"The API has no endpoint /api/v1/{rest}.")


api.add_router("", fallback)


def _denied(request: HttpRequest, status: int, detail: str) -> None:
    # Every denied access is audited, as the pages' 403 handler does (portal/views.py).
    audit_record(
        action="access.denied",
        actor=getattr(request, "user", None),
        outcome=AuditEvent.Outcome.DENIED,
        request=request,
        details={
            "method": request.method,
            "path": request.path[:500],
            "status": status,
            "reason": detail[:500],
        },
    )


@api.exception_handler(Problem)
def _problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    if exc.status in (401, 403):
        _denied(request, exc.status, exc.detail)
    return problem_response(request, exc)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [FieldError(field_of(e.get("loc", ())), str(e.get("msg", ""))) for e in exc.errors]
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or "Invalid input."
    return problem_response(request, Problem(422, "validation", detail, errors=errors))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(request, Problem(404, "not-found", str(exc) or "Not found."))


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _problem(request, Problem(403, "forbidden", str(exc) or "Not allowed."))


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    problem = Problem(
        401, "unauthenticated", "Not authenticated.", headers={"WWW-Authenticate": "Bearer"}
    )
    return _problem(request, problem)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja's own: a body that is not JSON (400), a method not offered (405), …
    return problem_response(request, Problem(exc.status_code, "http-error", str(exc)))


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("API call %s %s failed", request.method, request.path)
    return problem_response(
        request, Problem(500, "server-error", "Something went wrong; the request id says where.")
    )
