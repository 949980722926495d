"""Request id and client address for the audit trail; the Content-Security-Policy."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from opentelemetry import trace

from portal.azure.connection import azure_connection
from portal.azure.web_profile import web_budget
from portal.log_context import RequestContext, current_request

_REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the first X-Forwarded-For hop when behind a trusted proxy."""
    if settings.PORTAL_TRUST_X_FORWARDED_FOR:
        forwarded: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
        first = forwarded.split(",")[0].strip()
        # App Service appends the port ("1.2.3.4:5678") to the forwarded address.
        if first.count(":") == 1:
            first = first.split(":")[0]
        if first:
            return first
    remote: str | None = request.META.get("REMOTE_ADDR")
    return remote or None


class RequestIdMiddleware:
    """Tags each request with an id (an upstream X-Request-ID if well-formed) and echoes it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        # The request's span (telemetry on) carries it too, to find a log line's trace.
        trace.get_current_span().set_attribute("fleetwise.request_id", request_id)
        token = current_request.set(RequestContext(request_id, client_ip(request)))
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
        response["X-Request-ID"] = request_id
        return response


class PortalCSPMiddleware(CSPMiddleware):
    """django-csp, plus the identity provider's origin in form-action: signing out POSTs to the
    portal, which redirects to Entra's end-session endpoint, and Chromium checks form-action
    along the whole redirect chain."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        origin = _identity_provider_origin()
        if origin and not report_only:
            parts.update = {**(parts.update or {}), "form-action": [origin]}
        return parts


def _identity_provider_origin() -> str | None:
    try:
        authority_host = azure_connection().authority_host
    except ImproperlyConfigured:
        return None  # the emulator has not written demo.json yet; nothing to sign out of
    parts = urlsplit(authority_host)
    return f"{parts.scheme}://{parts.netloc}"


class AnonymousWritesRefused:
    """A POST (or other write) from someone not signed in is refused as a 403, so it is audited
    like any denied access, instead of being bounced to the sign-in page unrecorded. Only the
    break-glass form and sign-out accept anonymous writes."""

    OPEN_TO_ANONYMOUS = ("/auth/break-glass/", "/auth/sign-out/")
    # The JSON API authenticates every call by bearer token and refuses (and audits) itself.
    OWN_AUTHENTICATION = ("/api/",)

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.method not in ("GET", "HEAD", "OPTIONS")
            and not request.user.is_authenticated
            and request.path not in self.OPEN_TO_ANONYMOUS
            and not request.path.startswith(self.OWN_AUTHENTICATION)
        ):
            from portal.views import permission_denied

            return permission_denied(request, PermissionDenied("Sign in first."))
        return self.get_response(request)


class AzureWebBudget:
    """Every page answers within a few seconds whatever Azure does: any SDK call made while
    answering uses the web profile and shares AZURE_WEB_BUDGET_SECONDS (portal/azure/web_profile.py)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with web_budget(settings.AZURE_WEB_BUDGET_SECONDS):
            return self.get_response(request)
