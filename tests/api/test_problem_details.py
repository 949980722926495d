"""Errors are RFC 9457 problem details: application/problem+json with type, title, status and
detail, and the fields at fault for bad input. Nothing is changed by a refused call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from operations.models import Operation

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

PLAN = "/api/v1/restores/plan"


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:fleetwise:api:problem:")
    assert body["title"] and body["detail"]
    assert body["instance"] == response.wsgi_request.path
    return body


def test_invalid_input_names_every_field_at_fault(call, tokens, fleet):
    body = problem(
        call(
            "POST",
            PLAN,
            tokens.app("runbooks"),
            json={"tenant": fleet[0].slug, "mode": "sideways", "reason": ""},
        ),
        422,
    )
    assert {e["field"] for e in body["errors"]} == {"mode", "reason"}
    assert all(e["message"] for e in body["errors"])


def test_a_query_parameter_out_of_range_is_named(call, tokens, fleet):
    body = problem(call("GET", "/api/v1/tenants?limit=0", tokens.app("status_board")), 422)
    assert [e["field"] for e in body["errors"]] == ["limit"]


def test_a_restore_time_in_the_future_is_refused_naming_the_time(call, tokens, fleet):
    future = (timezone.now() + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M")
    body = problem(
        call(
            "POST",
            PLAN,
            tokens.app("runbooks"),
            json={
                "tenant": fleet[0].slug,
                "mode": "parallel",
                "when": future,
                "zone": "utc",
                "reason": "test",
            },
        ),
        422,
    )
    assert [e["field"] for e in body["errors"]] == ["when"]
    assert "future" in body["detail"]


def test_a_body_that_is_not_json_is_a_bad_request(client, tokens, fleet):
    response = client.post(
        PLAN,
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tokens.app('runbooks')}",
    )
    problem(response, 400)


def test_an_unknown_tenant_is_not_found(call, tokens, fleet):
    body = problem(call("GET", "/api/v1/tenants/no-such-tenant", tokens.app("status_board")), 404)
    assert body["type"].endswith("not-found")


def test_approving_an_operation_that_is_not_waiting_is_a_conflict(call, tokens, fleet, admin_user):
    operation = Operation.objects.create(
        tenant=fleet[0],
        subject_id=fleet[0].slug,
        subject_label=fleet[0].display_name,
        kind="restore_parallel",
        state=Operation.State.SUCCEEDED,
        requested_by=admin_user,
        reason="done already",
    )
    body = problem(
        call("POST", f"/api/v1/operations/{operation.pk}/approve", tokens.app("approver")), 409
    )
    assert "not waiting for approval" in body["detail"]
    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED


def test_a_restore_while_another_operation_holds_the_tenant_is_a_conflict(
    call, tokens, fleet, admin_user
):
    tenant = fleet[0]
    Operation.objects.create(
        tenant=tenant,
        subject_id=tenant.slug,
        subject_label=tenant.display_name,
        kind="restore_in_place",
        state=Operation.State.AWAITING_APPROVAL,
        requested_by=admin_user,
        reason="first",
        approval_expires_at=timezone.now() + timedelta(hours=1),
    )
    body = problem(
        call(
            "POST",
            PLAN,
            tokens.app("runbooks"),
            json={
                "tenant": tenant.slug,
                "mode": "parallel",
                "when": "2026-01-01 00:00",
                "reason": "second",
            },
        ),
        409,
    )
    assert "already has an operation in progress" in body["detail"]
    assert Operation.objects.count() == 1


def test_a_refusal_for_lack_of_a_token_says_how_to_authenticate(call, fleet):
    response = call("GET", "/api/v1/operations", None)
    body = problem(response, 401)
    assert response["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer" in body["detail"]


def test_a_path_the_api_does_not_have_is_a_problem_document_too(call, tokens, fleet):
    body = problem(call("GET", "/api/v1/tenant", tokens.app("status_board")), 404)
    assert "no endpoint /api/v1/tenant" in body["detail"]
