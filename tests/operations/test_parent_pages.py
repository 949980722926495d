"""A fleet operation's page: its subject, its children's counts, and the pause and resume
buttons, offered and refused by the same service rules."""

from __future__ import annotations

import pytest

from operations.engine import operation_execute
from operations.kinds import Subject
from operations.models import Operation
from operations.services import operation_approve, operation_request
from portal.models import AuditEvent
from tests.factories import UserFactory
from tests.operations.kinds_for_tests import FleetParameters

pytestmark = pytest.mark.django_db

POOLS = [
    f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/sql-1/elasticPools/p{n}"
    for n in range(3)
]


@pytest.fixture
def fleet(admin_user, engine_kinds):
    parent = operation_request(
        kind="test_fleet",
        subject=Subject(Operation.Subject.FLEET, "fleet", "the fleet"),
        requested_by=admin_user,
        reason="scale for the sale",
        parameters=FleetParameters(pools=POOLS, seconds=60, max_running=2),
        enqueue=lambda pk, countdown: None,
    )
    second = UserFactory(username="blake.admin@fleetwise.example", groups=["Admins"])
    operation_approve(operation=parent, approver=second, enqueue=lambda pk, countdown: None)
    operation_execute(operation_id=parent.pk, enqueue=lambda pk, countdown: None)
    parent.refresh_from_db()
    return parent


def test_the_parent_page_names_its_subject_and_counts_its_children(client, admin_user, fleet):
    client.force_login(admin_user)
    page = client.get(f"/operations/{fleet.pk}/").content.decode()
    assert "Scale every pool of the fleet" in page
    assert 'id="operation-subject">the fleet' in page
    assert "3 children: 2 queued." in page
    child = fleet.children.order_by("id").first()
    assert f'href="/operations/{child.pk}/"' in page
    assert 'value="Pause"' in page and 'value="Resume"' not in page

    child_page = client.get(f"/operations/{child.pk}/").content.decode()
    assert f'href="/operations/{fleet.pk}/"' in child_page and "approved with it" in child_page


def test_pause_and_resume_through_the_page_are_audited(client, admin_user, fleet):
    client.force_login(admin_user)
    assert client.post(f"/operations/{fleet.pk}/pause").status_code == 302
    fleet.refresh_from_db()
    assert fleet.paused_at is not None
    page = client.get(f"/operations/{fleet.pk}/").content.decode()
    assert 'value="Resume"' in page and 'value="Pause"' not in page
    assert client.post(f"/operations/{fleet.pk}/resume").status_code == 302
    fleet.refresh_from_db()
    assert fleet.paused_at is None
    assert list(
        AuditEvent.objects.filter(action__in=("operation.paused", "operation.resumed"))
        .order_by("id")
        .values_list("action", "actor")
    ) == [("operation.paused", admin_user.username), ("operation.resumed", admin_user.username)]


def test_someone_who_may_not_cancel_is_neither_offered_nor_allowed_a_pause(client, support, fleet):
    client.force_login(support)
    page = client.get(f"/operations/{fleet.pk}/").content.decode()
    assert 'value="Pause"' not in page
    response = client.post(f"/operations/{fleet.pk}/pause")
    assert response.status_code == 400
    assert "Only the requester or an approver" in response.context["refusal"]
    fleet.refresh_from_db()
    assert fleet.paused_at is None


def test_an_account_manager_limited_to_some_tenants_does_not_see_fleet_operations(
    client, account_manager, fleet
):
    from portal.models import StaffProfile

    StaffProfile.objects.update_or_create(
        user=account_manager, defaults={"only_assigned_tenants": True}
    )
    client.force_login(account_manager)
    assert client.get(f"/operations/{fleet.pk}/").status_code == 404
