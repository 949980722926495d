"""The two-step restore through the API, end to end: a support engineer's script plans and
requests an in-place restore, the change-approver app approves it, a real Celery worker runs
it against the emulator, and the script follows it to success — audited like the UI's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from operations.models import Operation
from portal.models import AuditEvent
from tests.processes import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def restorable(fleet, emulator):
    """A tenant with nothing seeded in the way of an in-place restore."""
    entry = next(
        t
        for t in emulator.tenants
        if not t["seeded_issues"] and not t.get("geo_secondary_database_id")
    )
    return next(t for t in fleet if t.slug == entry["slug"])


def test_a_script_plans_and_requests_an_in_place_restore_that_an_app_approves_and_a_worker_runs(
    call, tokens, fleet, azure_emulator, worker
):
    tenant = restorable(fleet, azure_emulator)
    script = tokens.person("support")
    inputs = {
        "tenant": tenant.slug,
        "mode": "in_place",
        "when": (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S"),
        "zone": "utc",
        "reason": "INC-77 rows deleted by a bad deploy",
        "ticket": "INC-77",
    }

    planned = call("POST", "/api/v1/restores/plan", script, json=inputs)
    assert planned.status_code == 200, planned.content
    plan = planned.json()
    assert plan["needs_approval"] is True
    assert {c["what"] for c in plan["checks"]} >= {"Source", "Target", "TDE key"}
    assert not Operation.objects.exists()  # planning queues nothing

    requested = call(
        "POST", "/api/v1/restores", script, json={**inputs, "plan_token": plan["plan_token"]}
    )
    assert requested.status_code == 202, requested.content
    operation = requested.json()
    assert operation["state"] == "awaiting_approval"
    assert operation["requested_by"] == "sasha.support@fleetwise.example"
    # The same steps as planned (names carry the moment of the request, so they are re-made).
    assert len(operation["steps"]) == len(plan["steps"])

    approved = call("POST", f"/api/v1/operations/{operation['id']}/approve", tokens.app("approver"))
    assert approved.status_code == 200, approved.content
    assert approved.json()["approved_by"].startswith("app:")

    def done():
        answer = call("GET", f"/api/v1/operations/{operation['id']}", script).json()
        return answer if answer["finished_at"] else None

    final = wait_for(done, what="the restore requested through the API", worker=worker)
    assert final["state"] == "succeeded", (final["error_message"], worker.log_tail())
    assert all(step["state"] == "succeeded" for step in final["steps"])
    trail = AuditEvent.objects.filter(tenant=tenant.slug).order_by("pk")
    actors = {(e.action, e.actor) for e in trail}
    assert ("operation.requested", "sasha.support@fleetwise.example") in actors
    assert any(
        action == "operation.approved" and actor.startswith("app:") for action, actor in actors
    )
