"""The plan token binds the caller, the tenant and the inputs, and expires: anything else is
refused with a problem naming `plan_token`, and nothing is queued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from operations.models import Operation

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def planned(call, tokens, fleet, azure_emulator):
    """A support engineer's plan of a parallel restore to two hours ago."""
    entry = next(t for t in azure_emulator.tenants if not t["seeded_issues"])
    token = tokens.person("support")
    inputs = {
        "tenant": entry["slug"],
        "mode": "parallel",
        "when": (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M"),
        "zone": "utc",
        "reason": "INC-9 invoices deleted",
    }
    answer = call("POST", "/api/v1/restores/plan", token, json=inputs)
    assert answer.status_code == 200, answer.content
    return token, {**inputs, "plan_token": answer.json()["plan_token"]}


def refused(response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["type"].endswith(kind)
    assert [e["field"] for e in body["errors"]] == ["plan_token"]
    assert not Operation.objects.exists()
    return body


def test_the_planned_restore_is_requested_with_its_token(call, planned):
    token, inputs = planned
    answer = call("POST", "/api/v1/restores", token, json=inputs)
    assert answer.status_code == 202, answer.content
    assert Operation.objects.get().state == Operation.State.QUEUED


def test_a_token_sent_with_changed_inputs_is_refused(call, planned):
    token, inputs = planned
    body = refused(
        call("POST", "/api/v1/restores", token, json={**inputs, "mode": "in_place"}),
        409,
        "plan-mismatch",
    )
    assert "differ from the plan" in body["detail"]


def test_a_token_used_by_another_caller_is_refused(call, tokens, planned):
    _, inputs = planned
    refused(
        call("POST", "/api/v1/restores", tokens.person("admin"), json=inputs), 409, "plan-mismatch"
    )


def test_an_expired_token_is_refused(call, planned):
    token, inputs = planned
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=16)):
        body = refused(call("POST", "/api/v1/restores", token, json=inputs), 409, "plan-expired")
    assert "ask for a new plan" in body["detail"]


def test_a_tampered_token_is_refused_as_invalid_input(call, planned):
    token, inputs = planned
    forged = {**inputs, "plan_token": inputs["plan_token"][:-3] + "abc"}
    refused(call("POST", "/api/v1/restores", token, json=forged), 422, "validation")
