"""An admin runs a DR drill of one tenant from the DR page on a real worker, a second admin
approves deleting the drill database, and both the DR page and the tenant page show the drill's
RTO and RPO."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from dr.models import DrDrill, DrReadiness
from dr.services import readiness_refresh
from monitoring.models import RefreshRun
from monitoring.services import fleet_refresh
from operations.models import Operation
from tests.browser.test_restore import fleet  # noqa: F401 - the fixture
from tests.browser.test_sign_in import sign_in
from tests.dr.conftest import drill_databases_delete

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

ADA = "ada.admin@fleetwise.example"
BLAKE = "blake.admin@fleetwise.example"
RTO_RPO = re.compile(r"RTO \d+ s.*RPO \d+ min", re.S)


@pytest.fixture
def assessed(fleet, azure_emulator):  # noqa: F811 - the imported fixture
    """The DR page as after the first backups refresh: readiness computed for the fleet; any
    drill database left on the shared emulator's paired servers removed afterwards."""
    fleet_refresh(kind=RefreshRun.Kind.BACKUPS)
    readiness_refresh()
    yield fleet
    drill_databases_delete(azure_emulator)


def test_an_admin_drills_one_tenant_from_the_dr_page_and_sees_its_rto_and_rpo(
    page: Page, browser: Browser, browser_context_args, portal_url, assessed, worker, tmp_path
):
    shots: Path = tmp_path / "shots"
    # A drill restores a geo backup: not a tenant ready only through its geo-secondary; and one
    # with a standby (a drill of the tenant without one would leave the standby it makes).
    ready = (
        DrReadiness.objects.filter(ready=True, geo_backup_at__isnull=False)
        .exclude(standby_site_id="")
        .select_related("tenant")
    )
    slug = ready.order_by("tenant__dr_tier", "tenant__slug")[0].tenant.slug

    sign_in(page, portal_url, ADA)
    page.goto(f"{portal_url}/dr/")
    expect(page.locator("#last-drill")).to_have_text("No drill has run yet.")
    expect(page.locator(f'.dr-row[data-tenant="{slug}"] .dr-last-drill')).to_have_text("never")
    page.locator("#drill-tenants").select_option(slug)
    page.get_by_label("Reason").fill("Quarterly DR drill")
    page.get_by_label("Ticket").fill("OPS-2026")
    page.screenshot(path=shots / "1-dr-page-before.png", full_page=True)
    page.get_by_role("button", name="Run DR drill").click()

    expect(page).to_have_url(re.compile(rf"{re.escape(portal_url)}/operations/\d+/$"))
    drill_operation = Operation.objects.get(kind="dr_drill", tenant__slug=slug)
    expect(page.locator("#operation-state")).to_have_text("Succeeded", timeout=180_000)
    expect(page.locator("#operation-steps")).to_contain_text(RTO_RPO)
    page.screenshot(path=shots / "2-drill-operation.png", full_page=True)
    drill = DrDrill.objects.get(operation=drill_operation)
    assert drill.teardown_operation is not None
    teardown = drill.teardown_operation
    assert teardown.state == "awaiting_approval"

    # The drill database's deletion waits for a second admin.
    approver_context = browser.new_context(**browser_context_args)
    approver = approver_context.new_page()
    sign_in(approver, portal_url, BLAKE)
    approver.goto(f"{portal_url}/operations/approvals/")
    card = approver.locator(f"#approval-{teardown.pk}")
    expect(card).to_contain_text(drill.database_name)
    approver.screenshot(path=shots / "3-approval.png", full_page=True)
    card.get_by_role("button", name="Approve").click()
    expect(approver.locator("#no-approvals")).to_be_visible()
    approver.goto(f"{portal_url}/operations/{teardown.pk}/")
    expect(approver.locator("#operation-state")).to_have_text("Succeeded", timeout=180_000)
    approver.screenshot(path=shots / "4-teardown.png", full_page=True)
    approver_context.close()

    drill.refresh_from_db()
    assert drill.rpo_seconds is not None
    rto = f"{drill.rto_seconds:.0f} s"
    rpo = f"{drill.rpo_seconds / 60:.0f} min"
    page.goto(f"{portal_url}/dr/")
    last = page.locator("#last-drill")
    expect(last).to_contain_text(f"Last successful drill: {slug}")
    expect(last).to_contain_text(f"RTO {rto}, RPO {rpo}")
    expect(page.locator(f'.dr-row[data-tenant="{slug}"] .dr-last-drill')).to_contain_text(
        f"{rto} / {rpo}"
    )
    page.screenshot(path=shots / "5-dr-page-after.png", full_page=True)

    last.get_by_role("link", name=slug).click()
    expect(page).to_have_url(f"{portal_url}/fleet/{slug}/#dr-heading")
    on_tenant = page.locator("#tenant-last-drill")
    expect(on_tenant).to_contain_text(f"RTO {rto} (request to healthy), RPO {rpo}")
    expect(on_tenant).to_contain_text(f"Operation #{drill_operation.pk}; teardown #{teardown.pk}")
    page.locator("section#dr").screenshot(path=shots / "6-tenant-page-dr.png")
