"""The approvals page and the header badge: what waits for a person's approval, oldest first,
approve and reject from the page, the countdown, and the rule shared with the services."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from operations.models import Operation
from operations.selectors import approvals_waiting_for
from operations.services import can_approve
from operations.templatetags.operations_display import expires_in
from portal import roles
from portal.models import AuditEvent
from tests.factories import TenantFactory, UserFactory
from tests.operations.test_views import requested

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_admin(db):
    return UserFactory(username="blake.admin@fleetwise.example", groups=[roles.ADMINS])


def badge(page: str) -> str | None:
    found = re.search(r'id="approvals-badge"[^>]*>([^<]*)<', page)
    hidden = re.search(r'id="approvals-badge"[^>]*\bhidden\b', page)
    return None if found is None or hidden else found.group(1)


def test_the_badge_counts_what_waits_for_the_approver_and_not_their_own_requests(
    client, support, admin_user, second_admin
):
    requested(TenantFactory(slug="one"), support)
    requested(TenantFactory(slug="two"), support)
    requested(TenantFactory(slug="three"), admin_user)  # the admin's own: not theirs to approve
    client.force_login(admin_user)
    assert badge(client.get("/operations/").content.decode()) == "2 waiting for your approval"
    client.force_login(second_admin)
    assert badge(client.get("/").content.decode()) == "3 waiting for your approval"


def test_people_who_cannot_approve_see_no_badge_and_no_approvals_link(
    client, support, account_manager
):
    requested(TenantFactory(slug="one"), support)
    for person in (support, account_manager):
        client.force_login(person)
        page = client.get("/operations/").content.decode()
        assert 'id="approvals-badge"' not in page
        assert 'href="/operations/approvals/"' not in page
        assert client.get("/operations/approvals/").status_code == 403


def test_the_badge_is_hidden_when_nothing_waits(client, admin_user):
    client.force_login(admin_user)
    page = client.get("/operations/").content.decode()
    assert 'href="/operations/approvals/">Approvals</a>' in page
    assert badge(page) is None


def test_the_badge_costs_one_query(client, support, admin_user):
    for slug in ("one", "two", "three"):
        requested(TenantFactory(slug=slug), support)
    client.force_login(admin_user)
    client.get("/operations/")  # warm the session and permission caches
    with CaptureQueriesContext(connection) as queries:
        client.get("/operations/")
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    badge_counts = [sql for sql in counts if "awaiting_approval" in sql]
    assert len(badge_counts) == 1


def test_expired_approvals_are_neither_counted_nor_listed(client, support, admin_user):
    stale = requested(TenantFactory(slug="stale"), support)
    fresh = requested(TenantFactory(slug="fresh"), support)
    Operation.objects.filter(pk=stale.pk).update(
        approval_expires_at=timezone.now() - timedelta(seconds=1)
    )
    client.force_login(admin_user)
    page = client.get("/operations/approvals/").content.decode()
    assert f'id="approval-{fresh.pk}"' in page
    assert f'id="approval-{stale.pk}"' not in page
    assert badge(page) == "1 waiting for your approval"


def test_the_page_lists_oldest_first_with_the_plan_the_requester_and_their_reason(
    client, support, admin_user, settings
):
    settings.OPERATIONS_APPROVAL_TTL_MINUTES = 60
    with time_machine.travel(timezone.now() - timedelta(minutes=20)):
        older = requested(TenantFactory(slug="older"), support, reason="invoices deleted")
    newer = requested(TenantFactory(slug="newer"), support, reason="bad import")
    client.force_login(admin_user)
    page = client.get("/operations/approvals/").content.decode()
    assert page.index(f'id="approval-{older.pk}"') < page.index(f'id="approval-{newer.pk}"')
    section = page[
        page.index(f'id="approval-{older.pk}"') : page.index(f'id="approval-{newer.pk}"')
    ]
    assert "invoices deleted" in section
    assert support.get_full_name() in section
    assert "in place (the restored copy becomes the live database)" in section
    for step in older.steps.all():
        assert escape(step.label) in section
    # The approval window is 60 minutes; twenty have passed for the older one.
    assert re.search(rf'id="expiry-{older.pk}"[^>]*>expires in (39|40) min<', section)


def test_the_page_shows_the_approvers_own_requests_without_buttons(client, admin_user):
    own = requested(TenantFactory(slug="own"), admin_user)
    client.force_login(admin_user)
    page = client.get("/operations/approvals/").content.decode()
    assert 'id="no-approvals"' in page
    assert f'href="/operations/{own.pk}/"' in page.split('id="own-requests"')[1]
    assert f"/operations/approvals/{own.pk}/approve" not in page


def test_approving_from_the_page_queues_it_and_comes_back_to_the_page(client, support, admin_user):
    operation = requested(TenantFactory(slug="one"), support)
    client.force_login(admin_user)
    answer = client.post(f"/operations/approvals/{operation.pk}/approve")
    assert answer.status_code == 302 and answer["Location"] == "/operations/approvals/"
    operation.refresh_from_db()
    assert operation.state == Operation.State.QUEUED and operation.approved_by == admin_user
    page = client.get("/operations/approvals/").content.decode()
    assert f"Operation #{operation.pk} approved" in page
    assert badge(page) is None


def test_rejecting_needs_a_reason_shown_next_to_the_field_and_in_the_summary(
    client, support, admin_user
):
    operation = requested(TenantFactory(slug="one"), support)
    client.force_login(admin_user)
    answer = client.post(
        f"/operations/approvals/{operation.pk}/reject", {f"reject-{operation.pk}-reason": "  "}
    )
    assert answer.status_code == 400
    page = answer.content.decode()
    assert f'id="reject-{operation.pk}-error-summary"' in page
    assert f'id="id_reject-{operation.pk}-reason_errors"' in page
    assert page.count("Say why you reject it") == 2  # beside the field and in the summary
    operation.refresh_from_db()
    assert operation.state == Operation.State.AWAITING_APPROVAL


def test_rejecting_with_a_reason_cancels_it_and_records_who_and_why(client, support, admin_user):
    operation = requested(TenantFactory(slug="one"), support)
    client.force_login(admin_user)
    answer = client.post(
        f"/operations/approvals/{operation.pk}/reject",
        {f"reject-{operation.pk}-reason": "Restore to yesterday evening instead"},
    )
    assert answer.status_code == 302
    operation.refresh_from_db()
    assert operation.state == Operation.State.CANCELLED
    assert operation.cancelled_by == admin_user
    assert "Restore to yesterday evening instead" in operation.outcome
    assert not operation.locks.exists()
    event = AuditEvent.objects.filter(action="operation.rejected").get()
    assert event.actor == admin_user.get_username() or event.actor_id == admin_user.pk


def test_the_requester_cannot_approve_or_reject_their_own_request(client, admin_user):
    operation = requested(TenantFactory(slug="own"), admin_user)
    client.force_login(admin_user)
    for action, data in (
        ("approve", {}),
        ("reject", {f"reject-{operation.pk}-reason": "changed my mind"}),
    ):
        answer = client.post(f"/operations/approvals/{operation.pk}/{action}", data)
        assert answer.status_code == 400
        assert "cannot approve it" in answer.content.decode()
    operation.refresh_from_db()
    assert operation.state == Operation.State.AWAITING_APPROVAL


def test_support_staff_cannot_approve_or_reject_from_the_page(client, support, admin_user):
    operation = requested(TenantFactory(slug="one"), admin_user)
    client.force_login(support)
    for action in ("approve", "reject"):
        assert client.post(f"/operations/approvals/{operation.pk}/{action}").status_code == 403
    operation.refresh_from_db()
    assert operation.state == Operation.State.AWAITING_APPROVAL


def test_the_poll_refreshes_countdowns_and_says_which_rows_are_gone(
    client, support, admin_user, settings
):
    settings.OPERATIONS_APPROVAL_TTL_MINUTES = 60
    stays = requested(TenantFactory(slug="stays"), support)
    goes = requested(TenantFactory(slug="goes"), support)
    client.force_login(admin_user)
    client.post(f"/operations/approvals/{goes.pk}/approve")
    with time_machine.travel(timezone.now() + timedelta(minutes=35)):
        fragment = client.get(
            f"/operations/approvals/?shown={stays.pk},{goes.pk},nonsense", HTTP_HX_REQUEST="true"
        ).content.decode()
    assert re.search(rf'id="expiry-{stays.pk}"[^>]*>expires in (24|25) min<', fragment)
    assert re.search(rf'id="expiry-{goes.pk}"[^>]*>no longer waiting', fragment)
    assert "1 waiting for your approval" in fragment and 'hx-swap-oob="true"' in fragment
    assert "<html" not in fragment


@pytest.mark.parametrize(
    "situation",
    ["waiting", "own", "expired", "approved", "no_permission"],
)
def test_the_list_and_the_services_agree_on_who_may_approve(
    situation, support, admin_user, second_admin
):
    requester = admin_user if situation == "own" else support
    operation = requested(TenantFactory(slug="one"), requester)
    approver = support if situation == "no_permission" else admin_user
    if situation == "expired":
        Operation.objects.filter(pk=operation.pk).update(
            approval_expires_at=timezone.now() - timedelta(seconds=1)
        )
    if situation == "approved":
        Operation.objects.filter(pk=operation.pk).update(state=Operation.State.QUEUED)
    operation.refresh_from_db()
    listed = approvals_waiting_for(approver).filter(pk=operation.pk).exists()
    assert listed == can_approve(approver, operation)
    assert listed == (situation == "waiting")


@pytest.mark.parametrize(
    ("left", "reads"),
    [
        (timedelta(hours=3, minutes=5, seconds=30), "expires in 3 h 05 min"),
        (timedelta(minutes=23, seconds=59), "expires in 23 min"),
        (timedelta(seconds=59), "expires in less than a minute"),
        (timedelta(seconds=0), "expired"),
    ],
)
def test_the_countdown_reads_in_hours_and_minutes(left, reads):
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        assert expires_in(now + left) == reads
