"""An admin declares the Australia East outage from the DR page, a second admin approves it, and
the failover's progress page reaches done by tier (real Celery worker, Redis and emulator with
the region down). Screenshots of the declare page and the finished progress page are kept in
the test's tmp_path."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from dr.services import readiness_refresh
from monitoring.models import RefreshRun
from monitoring.services import fleet_refresh
from operations.models import Operation
from tenants.models import Tenant
from tests.browser.test_restore import fleet, restore_worker  # noqa: F401 - fixtures
from tests.browser.test_sign_in import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

ADA = "ada.admin@fleetwise.example"
BLAKE = "blake.admin@fleetwise.example"


@pytest.fixture
def region_down(fleet):  # noqa: F811
    fleet_refresh(kind=RefreshRun.Kind.BACKUPS)
    readiness_refresh()
    fleet.control("POST", "faults/outage", {"region": "australiaeast", "active": True})
    yield fleet
    fleet.reset()


def test_an_admin_declares_the_outage_a_second_approves_and_the_progress_page_reaches_done(
    page: Page,
    browser: Browser,
    portal_url,
    region_down,
    restore_worker,  # noqa: F811
    tmp_path,
):
    sign_in(page, portal_url, ADA)
    page.goto(f"{portal_url}/dr/")
    page.locator("#declare-outage").click()
    expect(page.locator("#outage-evidence")).to_be_visible()
    page.get_by_label("Reason:").fill("Australia East is down (Azure status page)")
    page.screenshot(path=tmp_path / "declare.png", full_page=True)
    page.get_by_role("button", name="Declare the outage and request failover").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(portal_url)}/dr/failover/\d+/$"))
    expect(page.locator("#failover-state")).to_have_text("Awaiting approval")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    progress_url = page.url

    second = browser.new_context(ignore_https_errors=True).new_page()
    sign_in(second, portal_url, BLAKE)
    second.goto(progress_url)
    second.get_by_role("button", name="Approve").click()

    page.goto(progress_url)
    expect(page.locator("#failover-state")).to_have_text(re.compile("^Done"), timeout=240_000)
    page.screenshot(path=tmp_path / "progress-done.png", full_page=True)
    parent = Operation.objects.get(kind="region_failover")
    assert parent.approved_by is not None and parent.approved_by.username == BLAKE
    moved = Tenant.objects.exclude(active_database_id="")
    # Every tenant: the one seeded without a standby has one made from its primary's
    # recorded configuration.
    assert moved.count() == Tenant.objects.count()
    tier1_done = page.locator('#failover-tiers tr[data-tier="1"] .tier-done')
    assert int(tier1_done.inner_text()) == moved.filter(dr_tier=1).count()
    expect(page.locator("#failover-failed li")).to_have_count(0)
    print(f"screenshots in {tmp_path}")  # noqa: T201
