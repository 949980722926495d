"""A repatriation that fails says where the tenant is, and a new request carries on: refused by
Azure at the switch, the tenant keeps running in Australia Southeast with its standby started
again; failing after the planned failover, the tenant's data is primary at home, the catalogue
says so, and requesting again continues from the home app without a second geo-secondary or
failover."""

from __future__ import annotations

import pytest

from dr.repatriation import repatriation_request
from dr.repatriation_state import SWITCH_STARTED_AT
from operations.models import Operation
from portal.azure import replication, sql, web
from tests.drive import drive

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def begun(emulator, operation_name: str, resource_id: str) -> int:
    return sum(
        1
        for row in emulator.control("GET", "operations")["operations"]
        if row["operation"] == operation_name and row["resource_id"].lower() == resource_id.lower()
    )


def requested(tenant, admin_user, reason="Australia East is back"):
    operation = repatriation_request(tenants=[tenant], user=admin_user, reason=reason)
    drive(operation, seconds=120)
    tenant.refresh_from_db()
    return operation


def test_a_failover_azure_refuses_leaves_the_tenant_in_southeast_with_its_standby_running(
    away, admin_user, control, azure_emulator
):
    southeast = away.active
    control(
        "POST",
        "faults/fail-next",
        {
            "operation": "replication_links.failover",
            "status": 400,
            "code": "IncorrectReplicationLinkState",
            "message": "The link is busy (injected).",
        },
    )
    failed = requested(away, admin_user)

    assert failed.state == Operation.State.FAILED
    assert failed.error_code == "IncorrectReplicationLinkState"
    assert failed.outcome == (
        f"The tenant still runs in Australia Southeast on {southeast.database_name} with its "
        f"standby app {southeast.site_name}. Its standby app was started again."
    )
    assert not away.active.at_home and away.active.database_id == southeast.database_id
    assert web.site_get(southeast.site_id).is_running
    (link,) = replication.replication_links(away.database_id)
    assert link.role == "Secondary"

    # Asked again, it reuses the home copy already made and brings the tenant home.
    again = requested(away, admin_user, reason="again")
    assert again.state == Operation.State.SUCCEEDED, again.error_message
    assert away.active.at_home
    assert "already replicated" in again.steps.get(key="set_aside").message
    assert begun(azure_emulator, "databases.create_or_update", away.database_id) == 1
    assert begun(azure_emulator, "replication_links.failover", away.database_id) == 1


def test_a_failure_after_the_failover_says_where_the_tenant_is_and_a_new_request_continues(
    away, admin_user, control, azure_emulator
):
    control(
        "POST",
        "faults/fail-next",
        {"operation": "web_apps.start", "status": 409, "code": "Conflict", "message": "busy"},
    )
    failed = requested(away, admin_user)

    assert failed.state == Operation.State.FAILED
    assert failed.steps.get(key="start_home").state == "failed"
    assert failed.outcome.startswith(
        f"The planned failover is done: the tenant's data is primary at home in "
        f"{away.database_name}"
    )
    assert "points at it but is not started yet" in failed.outcome
    assert f"Request the repatriation of {away.slug} again" in failed.outcome
    # The catalogue followed the data: the home copy is primary, and the tenant is home.
    assert away.active.at_home
    assert not sql.database_get(away.database_id).secondary_type

    again = requested(away, admin_user, reason="continue")
    assert again.state == Operation.State.SUCCEEDED, again.error_message
    assert again.checkpoint["continues_operation"] == failed.pk
    assert again.checkpoint[SWITCH_STARTED_AT] == failed.checkpoint[SWITCH_STARTED_AT]
    assert web.site_get(away.app_service_site_id).is_running
    # One geo-secondary and one failover in all.
    assert begun(azure_emulator, "databases.create_or_update", away.database_id) == 1
    assert begun(azure_emulator, "replication_links.failover", away.database_id) == 1
    assert again.dr_repatriation.downtime_seconds > 0
