"""A support engineer restores a tenant in parallel from the browser and watches it complete;
an account manager is offered no restore and a direct POST is refused."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from operations.models import Operation
from portal.models import AuditEvent
from tenants.models import Tenant
from tests.browser.test_sign_in import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

SUPPORT = "sasha.support@fleetwise.example"
ACCOUNT_MANAGER = "avery.account@fleetwise.example"


@pytest.fixture
def fleet(portal_url, azure_emulator, settings):
    """The emulator's fleet in the catalogue, as `make demo` loads it."""
    settings.PORTAL_ENVIRONMENT = "demo"
    settings.PORTAL_BREAK_GLASS_USERNAME = "demo"
    call_command("load_demo", stdout=io.StringIO())
    settings.PORTAL_ENVIRONMENT = "test"
    settings.PORTAL_BREAK_GLASS_USERNAME = ""
    return azure_emulator


@pytest.fixture
def restore_worker(fleet, worker):
    """A real Celery worker on this Redis, this test database and this emulator; the live
    server (this process) publishes to the same Redis."""
    return worker


def plain_tenant(emulator) -> dict:
    """A tenant with nothing seeded (geo-replica, disabled key, …) that would block a restore."""
    return next(
        t
        for t in emulator.tenants
        if not t["seeded_issues"] and not t.get("geo_secondary_database_id")
    )


def test_a_support_engineer_restores_a_tenant_in_parallel_to_a_local_time_and_sees_it_complete(
    page: Page, portal_url, fleet, restore_worker
):
    entry = plain_tenant(fleet)
    slug = entry["slug"]
    two_hours_ago = (timezone.now() - timedelta(hours=2)).astimezone(ZoneInfo("Australia/Sydney"))

    sign_in(page, portal_url, SUPPORT)
    page.locator("#fleet-table").get_by_role("link", name=slug, exact=True).click()
    expect(page).to_have_url(f"{portal_url}/fleet/{slug}/")
    page.get_by_role("link", name="Restore…").click()

    # The worker collects the window; the panel polls until it has.
    expect(page.locator("#earliest-restore-point")).to_be_visible(timeout=60_000)
    page.get_by_role("radio", name="In parallel").check()
    page.get_by_role("radio", name="A point in time").check()
    page.get_by_label("Time (for a point in time)").fill(two_hours_ago.strftime("%d/%m/%Y %H:%M"))
    page.get_by_role("radio", name="local (Australia/Sydney)").check()
    page.get_by_label("Reason:").fill("Customer removed last week's invoices by mistake")
    page.get_by_label("Ticket:").fill("SUP-4711")
    page.get_by_role("button", name="Check the restore").click()

    expect(page.locator("#plan-checks")).to_contain_text(f"{two_hours_ago:%Y-%m-%d %H:%M}")
    expect(page.locator("#plan-steps")).to_contain_text("Restore into")
    expect(page.locator("#no-approval")).to_be_visible()
    page.get_by_label(re.compile("to confirm")).fill(slug)
    page.get_by_role("button", name=f"Restore {slug}").click()

    expect(page).to_have_url(re.compile(rf"{re.escape(portal_url)}/operations/\d+/$"))
    expect(page.locator("#operation-state")).to_have_text("Succeeded", timeout=120_000)
    expect(page.locator("#operation-steps")).not_to_contain_text("Pending")

    operation = Operation.objects.get(tenant__slug=slug)
    assert (operation.kind, operation.state) == ("restore_parallel", "succeeded")
    assert operation.requested_by.username == SUPPORT
    assert operation.ticket == "SUP-4711"
    copy = fleet.control("GET", "state")["resources"].get(operation.parameters["target_id"].lower())
    assert copy is not None, "the restored copy is not in the emulator"

    # The tenant page shows the finished operation too.
    page.goto(f"{portal_url}/fleet/{slug}/")
    expect(page.locator("#tenant-operations")).to_contain_text("Succeeded")


def test_an_account_manager_sees_no_restore_button_and_a_direct_post_is_refused(
    page: Page, portal_url, fleet
):
    manager = next(p for p in fleet.demo["people"] if p["preferred_username"] == ACCOUNT_MANAGER)
    slug = manager["tenants"][0]

    sign_in(page, portal_url, ACCOUNT_MANAGER)
    page.locator("#fleet-table").get_by_role("link", name=slug, exact=True).click()
    expect(page).to_have_url(f"{portal_url}/fleet/{slug}/")
    expect(page.get_by_role("heading", name="Catalogue")).to_be_visible()
    expect(page.get_by_role("link", name="Restore…")).to_have_count(0)

    page.goto(f"{portal_url}/fleet/{slug}/restore/")
    expect(page.get_by_role("heading", name="You are not allowed to do this")).to_be_visible()

    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{portal_url}/fleet/{slug}/restore/",
        form={"mode": "parallel", "source": "point_in_time", "when": "2026-01-01T10:00",
              "zone": "local", "reason": "no", "ticket": ""},
        headers={"X-CSRFToken": token, "Referer": f"{portal_url}/fleet/{slug}/"},
    )  # fmt: skip
    assert response.status == 403
    assert not Operation.objects.filter(tenant__slug=slug).exists()
    denied = AuditEvent.objects.filter(action="access.denied", actor=ACCOUNT_MANAGER)
    assert denied.filter(details__method="POST").exists()
    assert Tenant.objects.filter(slug=slug).exists()
