"""Every endpoint × every kind of caller: no token, people of each role (delegated tokens with
Operations.ReadWrite) and each automation app (app-only tokens with app roles).

Write calls are sent with inputs that get past the permission check and then stop — a plan
for a time long gone (422, naming `when`), a plan token the portal never issued (422, naming
`plan_token`) — so a 403 can only mean the caller may not, and nothing is ever queued."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from operations.models import Operation
from tenants.models import Tenant

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

CALLERS = (
    "none",
    "no_role",
    "sandbox",
    "account_manager",
    "support",
    "admin",
    "status_board",
    "runbooks",
    "approver",
)
READERS = {"account_manager", "support", "admin", "status_board", "runbooks", "approver"}
APPROVERS = {"admin", "approver"}
RESTORERS = {"support", "admin", "runbooks"}


def expected(endpoint: str, caller: str) -> int:
    if caller == "none":
        return 401
    if caller in ("no_role", "sandbox"):
        return 403
    if endpoint.startswith("read"):
        return 200 if caller in READERS else 403
    if endpoint in ("approve", "cancel"):
        return 200 if caller in APPROVERS else 403
    return 422 if caller in RESTORERS else 403


def _waiting(tenant: Tenant) -> Operation:
    """An in-place restore someone else asked for, waiting for approval."""
    requester, _ = get_user_model().objects.get_or_create(username="someone.else@fleetwise.example")
    return Operation.objects.create(
        tenant=tenant,
        subject_id=tenant.slug,
        subject_label=tenant.display_name,
        kind="restore_in_place",
        state=Operation.State.AWAITING_APPROVAL,
        requested_by=requester,
        reason="INC-7",
        approval_expires_at=timezone.now() + timedelta(hours=1),
        parameters={"target_name": f"{tenant.database_name}-restore-20260101-000000"},
    )


def _calls(tenant: Tenant, idle: Tenant) -> dict[str, tuple[str, str, object]]:
    restore = {
        "tenant": idle.slug,
        "mode": "parallel",
        "source": "point_in_time",
        "when": "2001-01-01 00:00",
        "zone": "utc",
        "reason": "matrix",
    }
    return {
        "read tenants": ("GET", "/api/v1/tenants", None),
        "read tenant": ("GET", f"/api/v1/tenants/{tenant.slug}", None),
        "read operations": ("GET", "/api/v1/operations", None),
        "read operation": ("GET", f"/api/v1/operations/{_waiting(tenant).pk}", None),
        "approve": ("POST", f"/api/v1/operations/{_waiting(tenant).pk}/approve", None),
        "cancel": ("POST", f"/api/v1/operations/{_waiting(tenant).pk}/cancel", None),
        "plan": ("POST", "/api/v1/restores/plan", restore),
        "restore": ("POST", "/api/v1/restores", {**restore, "plan_token": "not-a-plan"}),
    }


@pytest.mark.parametrize("caller", CALLERS)
def test_each_endpoint_answers_each_caller_as_its_role_allows(
    caller, call, tokens, fleet, azure_emulator
):
    # The account manager is limited to assigned tenants: use one of them.
    manager = next(p for p in azure_emulator.demo["people"] if p["tenants"])
    tenant, idle = (Tenant.objects.get(slug=slug) for slug in manager["tenants"][:2])
    token = tokens.token(caller)
    wrong = []
    for endpoint, (method, path, body) in _calls(tenant, idle).items():
        response = call(method, path, token, json=body)
        want = expected(endpoint, caller)
        if response.status_code != want:
            wrong.append(
                f"{endpoint}: expected {want}, got {response.status_code} {response.content[:200]!r}"
            )
        elif want != 200:
            assert response["Content-Type"] == "application/problem+json"
    assert not wrong, "\n".join(wrong)
    approved = Operation.objects.filter(state=Operation.State.QUEUED).count()
    cancelled = Operation.objects.filter(state=Operation.State.CANCELLED).count()
    assert (approved, cancelled) == ((1, 1) if caller in APPROVERS else (0, 0))


def test_an_account_manager_limited_to_assignments_does_not_see_other_tenants(
    call, tokens, fleet, azure_emulator
):
    manager = next(p for p in azure_emulator.demo["people"] if p["tenants"])
    other = Tenant.objects.exclude(slug__in=manager["tenants"]).first()
    token = tokens.person("account_manager")
    listed = call("GET", "/api/v1/tenants", token).json()
    assert {t["slug"] for t in listed["items"]} == set(manager["tenants"])
    assert call("GET", f"/api/v1/tenants/{other.slug}", token).status_code == 404


def test_an_app_cannot_approve_what_it_requested(call, tokens, fleet):
    tenant = fleet[0]
    operation = _waiting(tenant)
    approver = tokens.app("approver")
    call("GET", "/api/v1/tenants", approver)  # the app's portal user now exists
    operation.requested_by = get_user_model().objects.get(username__startswith="app:")
    operation.save()
    response = call("POST", f"/api/v1/operations/{operation.pk}/approve", approver)
    assert response.status_code == 403
    assert "second person" in response.json()["detail"]
    operation.refresh_from_db()
    assert operation.state == Operation.State.AWAITING_APPROVAL
