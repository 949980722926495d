"""An account manager opens the fleet dashboard, filters to unhealthy tenants, opens one and
sees its charts, alerts and restore window; the data comes from a real refresh of the emulator."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from monitoring.models import DefenderAlert, RefreshRun, TenantHealth
from monitoring.services import fleet_refresh
from tenants.models import Tenant
from tests.browser.test_sign_in import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

ACCOUNT_MANAGER = "avery.account@fleetwise.example"


@pytest.fixture
def stopped_tenant(portal_url, azure_emulator, settings):
    """The demo catalogue; one of the account manager's tenants has its app stopped outside
    the portal (the emulator's control API) before the fleet is refreshed."""
    settings.PORTAL_ENVIRONMENT = "demo"
    settings.PORTAL_BREAK_GLASS_USERNAME = "demo"
    call_command("load_demo", stdout=io.StringIO())
    settings.PORTAL_ENVIRONMENT = "test"
    settings.PORTAL_BREAK_GLASS_USERNAME = ""
    mine = Tenant.objects.filter(account_manager__username=ACCOUNT_MANAGER).order_by("slug")
    assert mine.exists()
    tenant = next(
        (t for t in mine if DefenderAlert.objects.filter(tenant=t).exists()), mine.first()
    )
    site = azure_emulator.control("GET", f"resource?id={tenant.app_service_site_id}")
    original = site["properties"]["state"]
    azure_emulator.control(
        "POST", "sites/state", {"site_id": tenant.app_service_site_id, "state": "Stopped"}
    )
    try:
        everyone = list(Tenant.objects.all())
        for kind in (RefreshRun.Kind.HOT, RefreshRun.Kind.BACKUPS, RefreshRun.Kind.POSTURE):
            fleet_refresh(kind=kind, tenants=everyone)
        yield tenant
    finally:
        azure_emulator.control(
            "POST", "sites/state", {"site_id": tenant.app_service_site_id, "state": original}
        )


def test_an_account_manager_filters_to_unhealthy_tenants_and_opens_one(
    page: Page, portal_url, stopped_tenant
):
    slug = stopped_tenant.slug
    assert TenantHealth.objects.get(tenant=stopped_tenant).status == "down"
    others = Tenant.objects.exclude(account_manager__username=ACCOUNT_MANAGER)

    page.set_viewport_size({"width": 1400, "height": 900})
    sign_in(page, portal_url, ACCOUNT_MANAGER)
    expect(page.locator("#fleet-table")).to_be_visible()
    # Every column shows on a 1,400 px screen: the status reasons wrap instead of pushing the
    # DR and "as of" columns out of sight (Django admin's dashboard CSS would keep them on one
    # line).
    table, box = page.evaluate(
        "[document.querySelector('#fleet-table').scrollWidth,"
        " document.querySelector('#fleet-table').parentElement.clientWidth]"
    )
    assert table <= box + 1, (table, box)
    # Only their own tenants.
    for other in others[:3]:
        expect(page.locator(f'tr[data-tenant="{other.slug}"]')).to_have_count(0)

    page.get_by_label("Status").select_option(label="Down")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"status=down"))
    rows = page.locator("#fleet-table tbody tr")
    expect(rows.first).to_be_visible()
    for status in rows.locator(".health").all_inner_texts():
        assert status == "Down"
    row = page.locator(f'tr[data-tenant="{slug}"]')
    expect(row).to_contain_text("Stopped")

    row.get_by_role("link", name=slug, exact=True).click()
    expect(page).to_have_url(f"{portal_url}/fleet/{slug}/")
    expect(page.locator("#tenant-status")).to_have_text("Down")
    expect(page.locator("#status-reasons")).to_contain_text("stopped")
    # 24 h charts drawn inline for the database, its pool and the app.
    expect(page.locator("#database-charts svg[role=img]").first).to_be_visible()
    expect(page.locator("#pool-charts svg[role=img]").first).to_be_visible()
    expect(page.locator("#tenant-app svg[role=img]").first).to_be_visible()
    # Alerts and the restore window, with local time and UTC.
    expect(page.locator("#tenant-alerts")).to_be_visible()
    if DefenderAlert.objects.filter(tenant=stopped_tenant, status="Active").exists():
        expect(page.locator("#tenant-alerts .severity").first).to_be_visible()
    expect(page.locator("#earliest-restore-point")).to_contain_text("UTC")
    expect(page.locator("#latest-restore-point")).to_contain_text("UTC")
    # An account manager may look but not restore.
    expect(page.get_by_role("button", name="Restore to this point…")).to_have_count(0)
