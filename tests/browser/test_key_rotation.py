"""Two admins rotate a tenant's TDE key from the browser: Ada requests it, cannot approve it
herself, Blake approves it, and both see it complete; the emulator's protector is the new
version (real Celery worker, Redis and emulator)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from operations.models import Operation
from portal.azure import sql
from tests.browser.test_restore import fleet, restore_worker  # noqa: F401 - fixtures
from tests.browser.test_sign_in import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

ADA = "ada.admin@fleetwise.example"
BLAKE = "blake.admin@fleetwise.example"


def test_one_admin_requests_a_rotation_another_approves_and_both_see_it_complete(
    page: Page,
    browser: Browser,
    portal_url,
    fleet,  # noqa: F811
    restore_worker,  # noqa: F811
):
    entry = next(t for t in fleet.tenants if "service_managed_tde" not in t["seeded_issues"])
    slug = entry["slug"]
    previous = sql.database_get(entry["database_id"]).encryption_protector

    sign_in(page, portal_url, ADA)
    page.goto(f"{portal_url}/fleet/{slug}/")
    page.locator("#rotate-key-button").click()
    page.get_by_label("Reason:").fill("Yearly key rotation")
    page.get_by_role("button", name="Request the rotation").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(portal_url)}/operations/\d+/$"))
    expect(page.locator("#operation-state")).to_have_text("Awaiting approval")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    operation_url = page.url

    second = browser.new_context(ignore_https_errors=True).new_page()
    sign_in(second, portal_url, BLAKE)
    second.goto(operation_url)
    second.get_by_role("button", name="Approve").click()
    expect(second.locator("#operation-state")).to_have_text("Succeeded", timeout=120_000)

    page.reload()
    expect(page.locator("#operation-state")).to_have_text("Succeeded", timeout=30_000)
    expect(page.locator("#approved-by")).to_contain_text(re.compile("Blake", re.I))
    operation = Operation.objects.get(kind="key_rotate")
    assert operation.requested_by.username == ADA
    assert operation.approved_by is not None and operation.approved_by.username == BLAKE
    new = sql.database_get(entry["database_id"]).encryption_protector
    assert new == operation.checkpoint["new_kid"] and new != previous
