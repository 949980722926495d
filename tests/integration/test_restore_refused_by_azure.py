"""A restore the portal's own window check let through but Azure refuses: the operation fails at
the restore step with Azure's code and message as Azure gave them, and the tenant is untouched.

The portal never branches on Azure's out-of-window code (which differs between SQL Database and
Managed Instance; docs/azure-behaviours.md, "Out-of-window restore points"). Here Azure's log
backups lag further behind than the portal's RESTORE_LATEST_LAG_MINUTES allows for: the
emulator's clock is set half an hour back, so its newest restorable point is older than the
time asked for, while the portal (on its own clock) finds the time inside the window.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from backups.services import RestoreRefusedError, RestoreRequest, restore_plan, restore_request
from portal.services import role_groups_sync
from tests.integration.test_restores import (
    emulator_database,
    finished,
    people,
    tenant_from_fleet,
)
from tests.processes import wait_for
from tests.request_log import request_marker, writes_since

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def azure_lagging_half_an_hour(azure_emulator):
    azure_emulator.control("POST", "clock", {"offset_seconds": -30 * 60})
    try:
        yield azure_emulator
    finally:
        azure_emulator.control("POST", "clock", {"offset_seconds": 0})


def test_the_portal_refuses_a_time_by_its_own_window_before_asking_azure(
    azure_emulator, audit_triggers_lifted_for_flush
):
    role_groups_sync()  # an earlier transactional test's flush removed the role groups
    tenant = tenant_from_fleet(azure_emulator, 4)
    support, _ = people()
    last = request_marker(azure_emulator)
    too_recent = datetime.now(UTC) - timedelta(minutes=settings.RESTORE_LATEST_LAG_MINUTES / 2)

    with pytest.raises(RestoreRefusedError) as caught:
        restore_plan(
            tenant=tenant,
            user=support,
            request=RestoreRequest(mode="parallel", when=_utc(too_recent), in_utc=True),
        )

    assert "which Azure cannot restore to yet" in caught.value.message
    assert writes_since(azure_emulator, last) == 0


def test_a_restore_azure_refuses_fails_with_azures_message_and_leaves_the_tenant(
    azure_lagging_half_an_hour, worker
):
    emulator = azure_lagging_half_an_hour
    tenant = tenant_from_fleet(emulator, 4)
    support, _ = people()
    when = datetime.now(UTC) - timedelta(minutes=settings.RESTORE_LATEST_LAG_MINUTES + 5)

    operation = restore_request(
        tenant=tenant,
        user=support,
        request=RestoreRequest(mode="parallel", when=_utc(when), in_utc=True),
        reason="Azure's window is shorter than ours",
        ticket="",
        confirm_slug=tenant.slug,
    )
    operation = wait_for(lambda: finished(operation), what="the refused restore", worker=worker)

    assert operation.state == "failed"
    assert operation.error_code == "InvalidLiveDatabase"
    steps = {s.key: s for s in operation.steps.all()}
    assert steps["check"].state == "succeeded"
    assert steps["restore"].state == "failed"
    # Azure's own words, not a message the portal made up from the code.
    assert "is not valid. Valid point in time range" in steps["restore"].message
    assert "last log backup" in operation.error_message
    live = emulator_database(emulator, tenant.database_id)
    assert live["properties"]["status"] == "Online"
    assert emulator_database(emulator, operation.parameters["target_id"]) is None
