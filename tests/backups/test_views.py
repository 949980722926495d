"""The restore pages, through the test client against the emulator's fleet."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from django.utils.html import escape

from backups.models import RestoreSnapshot
from backups.services import restore_snapshot_refresh
from operations.models import Operation
from portal.models import AuditEvent
from tenants.models import Tenant

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

SYDNEY = ZoneInfo("Australia/Sydney")


@pytest.fixture
def tenant(azure_emulator, settings):
    """A tenant of the emulator's fleet with nothing seeded that would block a restore."""
    settings.PORTAL_ENVIRONMENT = "demo"
    settings.PORTAL_BREAK_GLASS_USERNAME = "demo"
    call_command("load_demo", stdout=io.StringIO())
    entry = next(
        t
        for t in azure_emulator.tenants
        if not t["seeded_issues"] and not t.get("geo_secondary_database_id")
    )
    return Tenant.objects.get(slug=entry["slug"])


def local(moment):
    return moment.astimezone(SYDNEY).strftime("%d/%m/%Y %H:%M")


def form_data(**overrides):
    return {
        "mode": "parallel",
        "source": "point_in_time",
        "when": local(timezone.now() - timedelta(hours=2)),
        "zone": "local",
        "long_term_backup_id": "",
        "dropped_database_id": "",
        "reason": "Customer deleted invoices by mistake",
        "ticket": "SUP-1234",
        **overrides,
    }


def restore_url(tenant):
    return f"/fleet/{tenant.slug}/restore/"


def signed_plan(response):
    match = re.search(r'name="plan" value="([^"]+)"', response.content.decode())
    assert match, "no signed plan on the page"
    return match.group(1)


def test_the_form_asks_the_worker_for_a_fresh_restore_window_and_polls_for_it(
    client, support, tenant, django_capture_on_commit_callbacks
):
    client.force_login(support)
    with django_capture_on_commit_callbacks() as enqueued:
        response = client.get(restore_url(tenant))
    assert response.status_code == 200
    assert len(enqueued) == 1  # the refresh task, sent after commit
    snapshot = RestoreSnapshot.objects.get(tenant=tenant)
    assert snapshot.requested_at is not None and not snapshot.is_fresh
    page = response.content.decode()
    # A plain text field with its formats beside it, not the browser's locale-bound picker.
    assert 'type="datetime-local"' not in page
    assert 'name="when"' in page and 'placeholder="02/12/2026 05:54"' in page
    assert "DD/MM/YYYY HH:MM or YYYY-MM-DD HH:MM, 24-hour" in page
    assert f'hx-get="/fleet/{tenant.slug}/restore/preview"' in page
    assert "local (Australia/Sydney)" in page
    assert f'hx-get="/fleet/{tenant.slug}/restore/snapshot"' in page
    assert 'hx-trigger="every 2s"' in page
    assert "/static/django_htmx/htmx-2.min.js" in page


def test_the_window_panel_stops_polling_once_the_worker_has_collected_it(
    client, support, tenant, azure_emulator
):
    client.force_login(support)
    client.get(restore_url(tenant))
    pending = client.get(f"/fleet/{tenant.slug}/restore/snapshot")
    assert 'hx-trigger="every 2s"' in pending.content.decode()

    restore_snapshot_refresh(tenant=tenant)  # what the worker does
    fresh = client.get(f"/fleet/{tenant.slug}/restore/snapshot").content.decode()
    assert "hx-trigger" not in fresh
    snapshot = RestoreSnapshot.objects.get(tenant=tenant)
    earliest = snapshot.earliest_restore_at.astimezone(SYDNEY)
    assert f"{earliest:%Y-%m-%d %H:%M:%S} {earliest.tzname()}" in fresh
    assert "UTC)" in fresh
    for backup in snapshot.long_term_backups:
        assert f'value="{backup["id"]}"' in fresh


def test_it_refuses_a_time_it_cannot_read_and_queues_nothing(client, support, tenant):
    client.force_login(support)
    response = client.post(restore_url(tenant), form_data(when="yesterday at noon"))
    assert response.status_code == 400
    assert "is not a time this form understands" in response.content.decode()
    assert not Operation.objects.exists()


def test_it_refuses_a_local_time_skipped_by_daylight_saving_and_offers_both_utc_readings(
    client, support, tenant
):
    client.force_login(support)
    # Sydney's clocks jumped from 02:00 to 03:00 on Sunday 5 October 2025.
    response = client.post(restore_url(tenant), form_data(when="2025-10-05T02:30"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "does not exist in Australia/Sydney" in page
    assert 'name="reading" value="2025-10-04 15:30"' in page
    assert 'name="reading" value="2025-10-04 16:30"' in page
    assert not Operation.objects.exists()

    # Choosing a reading fills the form in again, in UTC, keeping the rest.
    chosen = client.post(
        restore_url(tenant), form_data(when="2025-10-05T02:30", reading="2025-10-04 15:30")
    )
    assert chosen.status_code == 200
    form = chosen.context["form"]
    assert form["when"].value() == "2025-10-04 15:30"
    assert form["zone"].value() == "utc"
    assert form["reason"].value() == "Customer deleted invoices by mistake"
    assert not Operation.objects.exists()


def test_it_refuses_a_time_before_the_earliest_restore_point(client, support, tenant):
    client.force_login(support)
    response = client.post(
        restore_url(tenant), form_data(when=local(timezone.now() - timedelta(days=30)))
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "is before the earliest restore point" in page
    assert "The restore window is" in page
    assert not Operation.objects.exists()


def test_it_refuses_a_request_without_a_reason(client, support, tenant):
    client.force_login(support)
    response = client.post(restore_url(tenant), form_data(reason=""))
    assert response.status_code == 400
    assert response.context["form"].errors["reason"]
    assert not Operation.objects.exists()


def test_a_time_in_the_window_shows_the_plan_to_confirm_without_queueing_anything(
    client, support, tenant
):
    client.force_login(support)
    response = client.post(restore_url(tenant), form_data())
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{tenant.database_name}-restore-" in page  # the target, in checks and steps
    assert "Check the restored copy is online" in page
    assert "no approval is needed" in page
    assert 'name="confirm_slug"' in page
    assert signed_plan(response)
    assert not Operation.objects.exists()


def test_confirming_with_the_slug_requests_the_restore_and_shows_the_operation(
    client, support, tenant, django_capture_on_commit_callbacks
):
    client.force_login(support)
    plan = signed_plan(client.post(restore_url(tenant), form_data()))
    with django_capture_on_commit_callbacks() as enqueued:
        response = client.post(
            f"{restore_url(tenant)}confirm", {"plan": plan, "confirm_slug": tenant.slug}
        )
    operation = Operation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/operations/{operation.pk}/"
    assert (operation.kind, operation.state) == ("restore_parallel", "queued")
    assert (operation.requested_by, operation.reason, operation.ticket) == (
        support,
        "Customer deleted invoices by mistake",
        "SUP-1234",
    )
    assert len(enqueued) == 1  # the run, sent after commit
    page = client.get(response["Location"]).content.decode()
    assert "Queued" in page and "SUP-1234" in page


def test_a_wrong_slug_is_refused_and_nothing_is_queued(client, support, tenant):
    client.force_login(support)
    plan = signed_plan(client.post(restore_url(tenant), form_data()))
    response = client.post(f"{restore_url(tenant)}confirm", {"plan": plan, "confirm_slug": "acme"})
    assert response.status_code == 400
    assert response.context["refusal"] == f"Type the tenant's slug “{tenant.slug}” to confirm."
    assert escape(response.context["refusal"]) in response.content.decode()
    assert not Operation.objects.exists()


def test_an_altered_or_expired_confirmation_is_refused(client, support, tenant):
    client.force_login(support)
    plan = signed_plan(client.post(restore_url(tenant), form_data()))
    altered = client.post(
        f"{restore_url(tenant)}confirm", {"plan": plan[:-2] + "xx", "confirm_slug": tenant.slug}
    )
    assert altered.status_code == 400
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        expired = client.post(
            f"{restore_url(tenant)}confirm", {"plan": plan, "confirm_slug": tenant.slug}
        )
    assert expired.status_code == 400
    assert "has expired" in expired.content.decode()
    assert not Operation.objects.exists()


def test_a_confirmation_made_for_someone_else_is_refused(client, support, admin_user, tenant):
    client.force_login(support)
    plan = signed_plan(client.post(restore_url(tenant), form_data()))
    client.force_login(admin_user)
    response = client.post(
        f"{restore_url(tenant)}confirm", {"plan": plan, "confirm_slug": tenant.slug}
    )
    assert response.status_code == 400
    assert not Operation.objects.exists()


def test_an_account_manager_sees_no_restore_button_and_a_direct_post_is_refused(
    client, account_manager, tenant
):
    client.force_login(account_manager)
    page = client.get(f"/fleet/{tenant.slug}/")
    assert page.status_code == 200
    assert "Restore…" not in page.content.decode()

    denied_before = AuditEvent.objects.filter(action="access.denied").count()
    response = client.post(restore_url(tenant), form_data())
    assert response.status_code == 403
    response = client.post(
        f"{restore_url(tenant)}confirm", {"plan": "x", "confirm_slug": tenant.slug}
    )
    assert response.status_code == 403
    denied = AuditEvent.objects.filter(action="access.denied").order_by("id")
    assert denied.count() == denied_before + 2
    assert denied.last().details["method"] == "POST"
    assert denied.last().actor == account_manager.username
    assert not Operation.objects.exists()
    assert not RestoreSnapshot.objects.exists()


@pytest.mark.parametrize(
    ("when", "zone"),
    [
        ("0001-01-01T00:00", "local"),
        ("0001-01-01T00:00", "utc"),
        ("9999-12-31T23:59", "utc"),
        ("9999-12-31T23:59", "local"),
        ("9999-12-31T23:59-05:00", "local"),
    ],
)
def test_a_time_at_the_edge_of_the_calendar_is_refused_on_the_form(
    client, support, tenant, when, zone
):
    client.force_login(support)
    response = client.post(restore_url(tenant), form_data(when=when, zone=zone))
    assert response.status_code == 400
    assert 'id="refusal"' in response.content.decode()
    assert not Operation.objects.exists()


def test_the_preview_says_what_a_typed_time_means_in_the_portals_zone_and_utc(
    client, support, tenant
):
    client.force_login(support)
    url = f"/fleet/{tenant.slug}/restore/preview"
    answer = client.get(url, {"when": "02/12/2026 05:54", "zone": "local"})
    assert answer.status_code == 200
    assert "= 2026-12-02 05:54 AEDT = 2026-12-01 18:54 UTC" in answer.content.decode()
    utc = client.get(url, {"when": "2026-12-01 18:54", "zone": "utc"}).content.decode()
    assert "= 2026-12-02 05:54 AEDT = 2026-12-01 18:54 UTC" in utc
    skipped = client.get(url, {"when": "04/10/2026 02:30", "zone": "local"}).content.decode()
    assert "does not exist in Australia/Sydney" in skipped and "when-preview-refused" in skipped
    assert "<html" not in skipped


def test_the_preview_is_drawn_with_the_page_when_the_form_comes_back(client, support, tenant):
    client.force_login(support)
    response = client.post(restore_url(tenant), form_data(when="yesterday at noon"))
    page = response.content.decode()
    assert re.search(r'id="when-preview"[^>]*>“yesterday at noon” is not a time', page)


def test_the_preview_is_refused_to_people_who_cannot_restore(client, account_manager, tenant):
    client.force_login(account_manager)
    answer = client.get(f"/fleet/{tenant.slug}/restore/preview", {"when": "02/12/2026 05:54"})
    assert answer.status_code == 403
