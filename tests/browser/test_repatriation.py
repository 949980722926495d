"""After an outage, an admin brings a failed-over tenant home from its page's "runs in" banner on
a real worker; the tenant page then shows it home with the switch's downtime, and a second admin
approves deleting the Southeast copy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from dr.models import DrRepatriation
from operations.models import Operation
from tenants.models import Tenant
from tests.browser.test_restore import fleet  # noqa: F401 - the fixture
from tests.browser.test_sign_in import sign_in
from tests.dr.repatriation_fleet import database_or_none, failed_over, movable

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

ADA = "ada.admin@fleetwise.example"
BLAKE = "blake.admin@fleetwise.example"


@pytest.mark.timeout(600)
def test_an_admin_brings_a_tenant_home_from_its_page_and_a_second_admin_approves_the_cleanup(
    page: Page,
    browser: Browser,
    browser_context_args,
    portal_url,
    fleet,  # noqa: F811 - the imported fixture
    worker,
    tmp_path,
):
    shots: Path = tmp_path / "shots"
    try:
        sign_in(page, portal_url, ADA)
        tenant, _ = failed_over(
            fleet, movable(fleet), User.objects.get(username=ADA), worker=worker
        )
        southeast = tenant.active

        page.goto(f"{portal_url}/fleet/{tenant.slug}/")
        expect(page.locator("#runs-away")).to_contain_text("Runs in australiasoutheast")
        page.locator("#repatriate-reason").fill("Australia East is back")
        page.screenshot(path=shots / "1-tenant-away.png", full_page=True)
        page.get_by_role("button", name="Bring home").click()

        expect(page).to_have_url(re.compile(rf"{re.escape(portal_url)}/operations/\d+/$"))
        expect(page.locator("#operation-state")).to_have_text("Succeeded", timeout=180_000)
        page.screenshot(path=shots / "2-repatriation.png", full_page=True)
        repatriation = DrRepatriation.objects.get(tenant=tenant)
        downtime = f"{repatriation.downtime_seconds:.0f} s"

        page.goto(f"{portal_url}/fleet/{tenant.slug}/")
        expect(page.locator("#runs-away")).to_have_count(0)
        expect(page.locator("#tenant-last-repatriation")).to_contain_text(f"downtime {downtime}")
        assert Tenant.objects.get(pk=tenant.pk).active.at_home

        cleanup = repatriation.away_cleanup_operation
        assert cleanup is not None
        approver_context = browser.new_context(**browser_context_args)
        approver = approver_context.new_page()
        sign_in(approver, portal_url, BLAKE)
        approver.goto(f"{portal_url}/operations/approvals/")
        card = approver.locator(f"#approval-{cleanup.pk}")
        expect(card).to_contain_text(southeast.database_name)
        card.get_by_role("button", name="Approve").click()
        approver.goto(f"{portal_url}/operations/{cleanup.pk}/")
        expect(approver.locator("#operation-state")).to_have_text("Succeeded", timeout=180_000)
        approver.screenshot(path=shots / "3-southeast-copy-deleted.png", full_page=True)
        approver_context.close()
        assert Operation.objects.get(pk=cleanup.pk).state == Operation.State.SUCCEEDED
        assert database_or_none(southeast.database_id) is None
    finally:
        fleet.reset()
