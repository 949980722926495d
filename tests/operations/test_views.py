"""The operations list, an operation's page and its live progress, approve and cancel."""

from __future__ import annotations

import pytest

from operations.models import Operation, OperationStep
from operations.services import operation_request
from portal import roles
from portal.models import AuditEvent, StaffProfile
from tests.factories import TenantFactory, UserFactory, restore_parameters

pytestmark = pytest.mark.django_db


def requested(tenant, by, *, kind="restore_in_place", reason="customer asked", ticket="SUP-7"):
    """A restore as the service records it; the worker is not running in these tests."""
    return operation_request(
        kind=kind,
        tenant=tenant,
        requested_by=by,
        reason=reason,
        ticket=ticket,
        parameters=restore_parameters(tenant, mode=kind.removeprefix("restore_")),
        enqueue=lambda pk, countdown: None,
    )


def test_the_list_shows_only_operations_of_tenants_the_person_sees(
    client, support, account_manager
):
    mine = requested(TenantFactory(slug="mine", account_manager=account_manager), support)
    other = requested(TenantFactory(slug="other"), support)
    StaffProfile.objects.create(user=account_manager, only_assigned_tenants=True)
    client.force_login(account_manager)
    page = client.get("/operations/").content.decode()
    assert f'href="/operations/{mine.pk}/"' in page
    assert f'href="/operations/{other.pk}/"' not in page
    assert client.get(f"/operations/{other.pk}/").status_code == 404
    assert client.get(f"/operations/{other.pk}/progress").status_code == 404


def test_the_list_filters_by_state(client, support):
    waiting = requested(TenantFactory(slug="one"), support)
    done = requested(TenantFactory(slug="two"), support, kind="restore_parallel")
    Operation.objects.filter(pk=done.pk).update(state=Operation.State.SUCCEEDED)
    client.force_login(support)
    page = client.get("/operations/?state=succeeded").content.decode()
    assert f'href="/operations/{done.pk}/"' in page
    assert f'href="/operations/{waiting.pk}/"' not in page
    page = client.get("/operations/?state=nonsense").content.decode()
    assert f'href="/operations/{done.pk}/"' in page and f'href="/operations/{waiting.pk}/"' in page


def test_the_list_query_count_does_not_grow_with_operations(
    client, support, django_assert_max_num_queries
):
    for n in range(30):
        operation = requested(
            TenantFactory(slug=f"tenant-{n}"), UserFactory(groups=[roles.SUPPORT])
        )
        Operation.objects.filter(pk=operation.pk).update(state=Operation.State.SUCCEEDED)
    client.force_login(support)
    with django_assert_max_num_queries(7):
        response = client.get("/operations/")
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 30


def test_the_page_shows_who_why_and_each_step_and_polls_until_finished(client, support):
    operation = requested(
        TenantFactory(slug="acme"), support, reason="invoices lost", ticket="SUP-9"
    )
    client.force_login(support)
    page = client.get(f"/operations/{operation.pk}/").content.decode()
    assert "invoices lost" in page and "SUP-9" in page
    assert support.get_full_name() in page
    assert "Awaiting approval" in page
    assert "Rename db-acme-restore-20260101-000000 to db-acme" in page
    # The poll says which state the page shows, so the panel can retire stale messages.
    assert (
        f'hx-get="/operations/{operation.pk}/progress?since=awaiting_approval" '
        'hx-trigger="every 2s"' in page
    )

    OperationStep.objects.filter(operation=operation, position=1).update(
        state=OperationStep.State.FAILED, message="The restore window has moved."
    )
    Operation.objects.filter(pk=operation.pk).update(
        state=Operation.State.FAILED,
        error_code="RestoreWindowMoved",
        error_message="Too late.",
        outcome="The tenant's live database and app were not touched.",
    )
    fragment = client.get(f"/operations/{operation.pk}/progress").content.decode()
    assert "<html" not in fragment
    assert "hx-trigger" not in fragment
    assert "RestoreWindowMoved" in fragment and "Too late." in fragment
    assert "The restore window has moved." in fragment
    assert "were not touched" in fragment


def test_the_requester_is_not_offered_approval_and_cannot_approve(client, admin_user):
    operation = requested(TenantFactory(slug="acme"), admin_user)
    client.force_login(admin_user)
    page = client.get(f"/operations/{operation.pk}/").content.decode()
    assert 'value="Approve"' not in page
    response = client.post(f"/operations/{operation.pk}/approve")
    assert response.status_code == 400
    assert "cannot approve it; a second person must" in response.context["refusal"]
    operation.refresh_from_db()
    assert (operation.state, operation.approved_by) == ("awaiting_approval", None)
    assert AuditEvent.objects.get(action="operation.approve").outcome == "denied"


def test_a_second_admin_approves_and_the_operation_is_queued(
    client, support, second_admin, django_capture_on_commit_callbacks
):
    operation = requested(TenantFactory(slug="acme"), support)
    client.force_login(second_admin)
    assert 'value="Approve"' in client.get(f"/operations/{operation.pk}/").content.decode()
    with django_capture_on_commit_callbacks() as enqueued:
        response = client.post(f"/operations/{operation.pk}/approve")
    assert response.status_code == 302
    assert len(enqueued) == 1
    operation.refresh_from_db()
    assert (operation.state, operation.approved_by) == ("queued", second_admin)
    assert "approved; it is queued" in client.get(response["Location"]).content.decode()


def test_support_cannot_approve_and_the_attempt_is_audited(client, support, admin_user):
    operation = requested(TenantFactory(slug="acme"), admin_user)
    client.force_login(support)
    assert 'value="Approve"' not in client.get(f"/operations/{operation.pk}/").content.decode()
    response = client.post(f"/operations/{operation.pk}/approve")
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="access.denied", actor=support.username).exists()
    operation.refresh_from_db()
    assert operation.state == "awaiting_approval"


def test_the_requester_cancels_before_it_starts(client, support):
    operation = requested(TenantFactory(slug="acme"), support)
    client.force_login(support)
    assert 'value="Cancel operation"' in client.get(f"/operations/{operation.pk}/").content.decode()
    response = client.post(f"/operations/{operation.pk}/cancel")
    assert response.status_code == 302
    operation.refresh_from_db()
    assert (operation.state, operation.cancelled_by) == ("cancelled", support)
    assert set(operation.steps.values_list("state", flat=True)) == {"skipped"}


def test_someone_else_without_the_approve_permission_cannot_cancel(
    client, support, account_manager
):
    operation = requested(TenantFactory(slug="acme"), support)
    client.force_login(account_manager)
    assert (
        'value="Cancel operation"'
        not in client.get(f"/operations/{operation.pk}/").content.decode()
    )
    response = client.post(f"/operations/{operation.pk}/cancel")
    assert response.status_code == 400
    assert "Only the requester or an approver can cancel" in response.context["refusal"]
    operation.refresh_from_db()
    assert operation.state == "awaiting_approval"


def test_an_outsider_is_refused_everything(client, outsider, support):
    operation = requested(TenantFactory(slug="acme"), support)
    client.force_login(outsider)
    for path in (
        "/operations/",
        f"/operations/{operation.pk}/",
        f"/operations/{operation.pk}/progress",
    ):
        assert client.get(path).status_code == 403, path
    for path in (f"/operations/{operation.pk}/approve", f"/operations/{operation.pk}/cancel"):
        assert client.post(path).status_code == 403, path
    operation.refresh_from_db()
    assert operation.state == "awaiting_approval"
