"""Every main page at a phone's 390 px width: nothing scrolls sideways (wide tables scroll in
their own box). Screenshots go to the test's tmp directory for a person to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from portal import roles
from tenants.models import Tenant
from tests.browser.test_restore import fleet, plain_tenant  # noqa: F401 - the fixture
from tests.browser.test_sign_in import sign_in
from tests.factories import UserFactory
from tests.operations.test_views import requested

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

ADMIN = "ada.admin@fleetwise.example"
PHONE: ViewportSize = {"width": 390, "height": 844}


def fits(page: Page) -> tuple[int, int]:
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return int(scroll), int(inner)


@pytest.mark.usefixtures("fleet")
def test_the_main_pages_fit_a_390_px_phone_without_sideways_scrolling(
    page: Page, portal_url, azure_emulator, worker_env, tmp_path
):
    tenant = Tenant.objects.get(slug=plain_tenant(azure_emulator)["slug"])
    requester = UserFactory(username="sam.support@fleetwise.example", groups=[roles.SUPPORT])
    waiting = requested(tenant, requester, reason="Customer removed last week's invoices")
    page.set_viewport_size(PHONE)
    sign_in(page, portal_url, ADMIN)
    pages = {
        "fleet-dashboard": ("/", "#fleet-table"),
        "tenant-page": (f"/fleet/{tenant.slug}/", "#tenant-operations"),
        "restore-form": (f"/fleet/{tenant.slug}/restore/", "#restore-form"),
        "operation-page": (f"/operations/{waiting.pk}/", "#operation-steps"),
        "approvals-page": ("/operations/approvals/", f"#approval-{waiting.pk}"),
        # The rest of the navigation, so no page is left behind.
        "operations-list": ("/operations/", "#operations-table"),
        "pools": ("/monitoring/pools/", "#content-main"),
        "alerts": ("/monitoring/alerts/", "#content-main"),
        "posture": ("/monitoring/posture/", "#content-main"),
        "dr": ("/dr/", "#content-main"),
        "keys": ("/keys/", "#content-main"),
        "notifications": ("/notifications/preferences/", "#preferences-form"),
    }
    too_wide = {}
    for name, (path, landmark) in pages.items():
        page.goto(f"{portal_url}{path}")
        expect(page.locator(landmark)).to_be_attached()
        page.screenshot(path=tmp_path / f"{name}-390.png", full_page=True)
        scroll, inner = fits(page)
        if scroll > inner:
            too_wide[name] = (scroll, inner)
    assert inner == PHONE["width"]
    assert not too_wide, f"pages scrolling sideways at 390 px (scrollWidth, innerWidth): {too_wide}"


@pytest.mark.usefixtures("fleet")
def test_the_restore_time_previews_as_it_is_typed_and_htmx_requests_show_the_busy_sign(
    page: Page, portal_url, azure_emulator, worker_env, tmp_path
):
    slug = plain_tenant(azure_emulator)["slug"]
    page.set_viewport_size(PHONE)
    sign_in(page, portal_url, ADMIN)
    page.goto(f"{portal_url}/fleet/{slug}/restore/")
    field = page.get_by_label("Time (for a point in time)")
    expect(field).not_to_have_attribute("type", "datetime-local")
    expect(page.locator("#id_when_helptext")).to_contain_text("DD/MM/YYYY HH:MM")
    page.get_by_role("radio", name="local (Australia/Sydney)").check()
    field.fill("02/12/2026 05:54")
    preview = page.locator("#when-preview")
    expect(preview).to_have_text("= 2026-12-02 05:54 AEDT = 2026-12-01 18:54 UTC")
    page.get_by_role("radio", name="UTC").check()
    expect(preview).to_have_text("= 2026-12-02 16:54 AEDT = 2026-12-02 05:54 UTC")
    page.get_by_role("radio", name="local (Australia/Sydney)").check()
    field.fill("04/10/2026 02:30")
    expect(preview).to_contain_text("does not exist in Australia/Sydney")
    page.screenshot(path=tmp_path / "restore-preview-390.png", full_page=True)

    # htmx marks the element waiting for an answer with `htmx-request`; CSS alone shows the sign.
    busy = page.locator("#busy-indicator")
    expect(busy).to_have_css("opacity", "0")
    page.evaluate("document.querySelector('#when-preview').classList.add('htmx-request')")
    expect(busy).to_have_css("opacity", "1")
