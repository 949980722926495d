"""Sign-in (Entra ID, and the break-glass password login), sign-out, denied access, health."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from portal import break_glass
from portal.audit import audit_record
from portal.azure.entra import (
    SignedInIdentity,
    SignInError,
    sign_in_begin,
    sign_in_complete,
    sign_out_url,
)
from portal.health import health_report, liveness_report
from portal.middleware import client_ip
from portal.models import AuditEvent
from portal.pages import render_page
from portal.services import IdentityConflictError, NoPortalAccessError, staff_sign_in

FLOW_KEY = "entra_flow"
NEXT_KEY = "entra_next"


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index")


def _callback_uri(request: HttpRequest) -> str:
    return settings.ENTRA_REDIRECT_URI or request.build_absolute_uri(reverse("auth-callback"))


@require_GET
@never_cache
def sign_in(request: HttpRequest) -> HttpResponse:
    """The sign-in page: one button to Entra ID (and break-glass when it is turned on)."""
    next_url = _safe_next(request, request.GET.get("next"))
    if request.user.is_authenticated and request.user.is_staff:
        return redirect(next_url)
    return render(
        request,
        "portal/sign_in.html",
        {"next": next_url, "break_glass": bool(settings.PORTAL_BREAK_GLASS_USERNAME)},
    )


@require_GET
@never_cache
def sign_in_start(request: HttpRequest) -> HttpResponse:
    # A GET link, not a form: Chromium applies CSP form-action to the redirect to Entra.
    try:
        flow = sign_in_begin(redirect_uri=_callback_uri(request))
    except SignInError as exc:
        return _refuse(request, exc.reason, exc.message, 503)
    request.session[FLOW_KEY] = flow
    request.session[NEXT_KEY] = _safe_next(request, request.GET.get("next"))
    return HttpResponseRedirect(flow["auth_uri"])


def _refuse(
    request: HttpRequest,
    reason: str,
    message: str,
    status: int,
    *,
    who: SignedInIdentity | None = None,
    claimed: dict[str, str] | None = None,
) -> HttpResponse:
    """Refuse a sign-in, recording who tried when a token said so: `who` from a token whose
    signature verified (the actor), `claimed` from one that did not (kept apart: untrusted)."""
    details: dict[str, Any] = {"reason": reason, "message": message}
    if who is not None:
        details["who"] = {
            "name": who.name,
            "username": who.username,
            "tenant_id": who.tid,
            "object_id": who.oid,
        }
    if claimed:
        details["claimed_unverified"] = claimed
    audit_record(
        action="auth.sign_in",
        actor_name=(who.username or who.oid) if who is not None else "",
        outcome=AuditEvent.Outcome.FAILURE,
        details=details,
        request=request,
    )
    template = "portal/no_access.html" if reason == "no_role" else "portal/sign_in.html"
    return render(
        request,
        template,
        {
            "error": message,
            "next": reverse("admin:index"),
            "break_glass": bool(settings.PORTAL_BREAK_GLASS_USERNAME),
        },
        status=status,
    )


@require_GET
@never_cache
def sign_in_callback(request: HttpRequest) -> HttpResponse:
    flow = request.session.pop(FLOW_KEY, None)
    next_url = request.session.pop(NEXT_KEY, None) or reverse("admin:index")
    if flow is None:
        return _refuse(
            request,
            "bad_state",
            "No sign-in was in progress in this browser (or it was already used). Please sign in again.",
            400,
        )
    try:
        identity = sign_in_complete(flow=flow, response=request.GET.dict())
    except SignInError as exc:
        status = 403 if exc.reason in ("wrong_tenant", "wrong_audience", "wrong_issuer") else 400
        return _refuse(request, exc.reason, exc.message, status, who=exc.who, claimed=exc.claimed)
    try:
        user = staff_sign_in(identity=identity)
    except NoPortalAccessError as exc:
        return _refuse(request, "no_role", str(exc), 403, who=identity)
    except IdentityConflictError as exc:
        return _refuse(request, "identity_conflict", str(exc), 409, who=identity)
    # login() rotates the session key, so a session fixed before sign-in is worthless after it.
    auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session["entra_sign_in"] = True
    audit_record(
        action="auth.sign_in",
        actor=user,
        request=request,
        details={"method": "entra_id", "roles": list(identity.roles)},
    )
    return redirect(next_url)


@require_POST
@never_cache
def sign_out(request: HttpRequest) -> HttpResponse:
    """Ends the portal session, then Entra's (for people who signed in through Entra)."""
    through_entra = bool(request.session.get("entra_sign_in"))
    if request.user.is_authenticated:
        audit_record(action="auth.sign_out", actor=request.user, request=request)
    auth.logout(request)
    back = request.build_absolute_uri(reverse("sign-in"))
    if through_entra:
        return HttpResponseRedirect(sign_out_url(post_logout_redirect_uri=back))
    return HttpResponseRedirect(back)


class BreakGlassForm(AuthenticationForm):
    """Django's password form, limited to the one named break-glass superuser."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if user.get_username() != settings.PORTAL_BREAK_GLASS_USERNAME or not user.is_superuser:
            raise ValidationError(
                "This account cannot use break-glass sign-in.", code="not_break_glass"
            )


class BreakGlassSignIn(LoginView):
    """Django's password form, throttled: after BREAK_GLASS_MAX_FAILURES failures a username
    is locked out from that address; while locked, no password is even checked."""

    form_class = BreakGlassForm
    template_name = "portal/break_glass.html"
    redirect_authenticated_user = False

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.PORTAL_BREAK_GLASS_USERNAME:
            raise Http404("Break-glass sign-in is turned off.")
        return super().dispatch(request, *args, **kwargs)

    def _attempt(self) -> tuple[str, str]:
        username = str(self.request.POST.get("username", ""))[:150]
        return username, client_ip(self.request) or ""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username, source_ip = self._attempt()
        lockout = break_glass.lockout_for(username=username, source_ip=source_ip)
        if lockout is None:
            return super().post(request, *args, **kwargs)
        audit_record(
            action="auth.break_glass",
            actor_name=username,
            outcome=AuditEvent.Outcome.FAILURE,
            request=request,
            details={"errors": ["locked out"], "locked_until": lockout.until.isoformat()},
        )
        return self._locked_page(lockout)

    def _locked_page(self, lockout: break_glass.Lockout) -> HttpResponse:
        # An unbound form: a locked-out attempt must not have its password checked at all.
        context = self.get_context_data(form=self.form_class(self.request))
        context["locked"] = (
            "Too many failed attempts: break-glass sign-in for this account is locked from your "
            f"address until {lockout.until:%H:%M} UTC. An admin can lift the lock "
            "(manage.py break_glass_unlock)."
        )
        return self.render_to_response(context, status=429)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        username, source_ip = self._attempt()
        break_glass.break_glass_success(username=username, source_ip=source_ip)
        response = super().form_valid(form)
        audit_record(
            action="auth.break_glass",
            actor=form.get_user(),
            request=self.request,
            details={"method": "password"},
        )
        return response

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        audit_record(
            action="auth.break_glass",
            actor_name=str(form.data.get("username", ""))[:150],
            outcome=AuditEvent.Outcome.FAILURE,
            request=self.request,
            details={"errors": [e for errors in form.errors.values() for e in errors]},
        )
        username, source_ip = self._attempt()
        lockout = break_glass.break_glass_failure_record(
            username=username, source_ip=source_ip, request=self.request
        )
        if lockout is not None:
            return self._locked_page(lockout)
        return super().form_invalid(form)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Every 403 in the portal passes here, so every denied access is audited."""
    audit_record(
        action="access.denied",
        actor=request.user,
        outcome=AuditEvent.Outcome.DENIED,
        request=request,
        details={
            "method": request.method,
            "path": request.path[:500],
            "reason": str(exception or "")[:500],
        },
    )
    return render_page(
        request, "403.html", {"reason": str(exception or "")}, title="Not allowed", status=403
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The portal's 404, with the user bar and a way back (also the answer for tenants a
    person may not see, so their names do not leak)."""
    return render_page(request, "404.html", {}, title="Not found", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """The portal's 500. Rendered without the request's context: the database may be what
    failed, and the user bar would query it."""
    return HttpResponse(loader.get_template("500.html").render({}), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return permission_denied(request, PermissionDenied(f"CSRF check failed: {reason}"))


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """For monitors and people: 200 when the database and the broker answer, else 503 naming the
    failing parts; the fleet refresh's age beside them."""
    report = health_report()
    return JsonResponse(report, status=503 if report["failing"] else 200)


@require_GET
@never_cache
def healthz_live(request: HttpRequest) -> HttpResponse:
    """App Service's health-check path: 200 while this instance reaches its database, 503 if not."""
    report = liveness_report()
    return JsonResponse(report, status=503 if report["failing"] else 200)
