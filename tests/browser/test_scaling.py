"""Issue 11's acceptance in the browser, against the running stack (emulator, Redis, a real
Celery worker): Ada scales a tenant's plan, moves its database to another pool and requests a
key rotation; Blake approves what needs a second admin; both see each complete; the tenant page
shows the new SKU, pool and key version; the audit trail names who did each step. Also the pool
scale page, and the rebalancing advice's one click to a prefilled move request."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from monitoring.models import PoolSnapshot, RefreshRun
from monitoring.services import fleet_refresh
from operations.models import Operation
from portal.azure import scaling, sql
from tests.browser.test_restore import fleet, restore_worker  # noqa: F401 - fixtures
from tests.browser.test_sign_in import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

ADA = "ada.admin@fleetwise.example"
BLAKE = "blake.admin@fleetwise.example"
SCREENS = Path(__file__).resolve().parents[2] / "var" / "screens"
OPERATION_URL = re.compile(r"/operations/\d+/$")


def _shot(page: Page, name: str) -> None:
    """A full-page screenshot in var/screens/ (gitignored), to look at while developing."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def _moveable(emulator) -> tuple[dict, str]:
    """A tenant with nothing seeded and its own key, and another pool on its server."""
    pools = emulator.demo["fleet"]["pools"]
    for entry in emulator.tenants:
        if entry["seeded_issues"] or entry.get("geo_secondary_database_id"):
            continue
        for pool in pools:
            if (
                pool["server_id"] == entry["sql_server_id"]
                and pool["id"] != entry["elastic_pool_id"]
            ):
                return entry, pool["id"]
    raise AssertionError("no plain tenant with another pool on its server")


def _show_plan_and_request(page: Page, name: str) -> str:
    """Show the plan, give the override a reason if the plan asks for one, request it; the
    operation's URL."""
    page.get_by_role("button", name="Show the plan").click()
    expect(page.locator("#scaling-plan")).to_be_visible()
    if page.locator("#plan-refusals").count():
        page.get_by_label("Below the 24 h peak because:").fill("Acceptance run: the peak is known")
        page.get_by_role("button", name="Show the plan").click()
    _shot(page, f"{name}-plan")
    page.get_by_role("button", name="Request this change").click()
    expect(page).to_have_url(OPERATION_URL)
    return page.url


def _reload_until(page: Page, url: str, selector: str, text: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        page.goto(url)
        if text in page.locator(selector).inner_text() or time.monotonic() > deadline:
            break
        page.wait_for_timeout(1000)
    expect(page.locator(selector)).to_contain_text(text)


def _approve_if_asked_and_see_it_succeed(second: Page, url: str) -> None:
    second.goto(url)
    approve = second.get_by_role("button", name="Approve")
    if approve.count():
        approve.click()
    expect(second.locator("#operation-state")).to_have_text("Succeeded", timeout=120_000)


def test_an_admin_scales_moves_and_rotates_a_second_approves_and_the_pages_show_it(
    page: Page,
    browser: Browser,
    portal_url,
    fleet,  # noqa: F811
    restore_worker,  # noqa: F811
):
    entry, to_pool = _moveable(fleet)
    slug = entry["slug"]
    plan = scaling.plan_get(entry["plan_id"])
    target = "P2v3" if plan.sku_name != "P2v3" else "P1v3"
    previous_kid = sql.database_get(entry["database_id"]).encryption_protector
    # The running stack's scheduled refreshes have read the fleet (plans are read hourly).
    fleet_refresh(kind=RefreshRun.Kind.HOT)
    fleet_refresh(kind=RefreshRun.Kind.BACKUPS)
    second = browser.new_context(ignore_https_errors=True).new_page()
    sign_in(second, portal_url, BLAKE)
    sign_in(page, portal_url, ADA)

    page.goto(f"{portal_url}/fleet/{slug}/")
    page.locator("#scale-button").click()
    page.get_by_role("radio", name="Scale the App Service plan").check()
    page.get_by_label("Plan SKU:").select_option(target)
    page.get_by_label("Instances:").fill(str(plan.capacity))
    page.get_by_label("Reason:").fill("Month-end load")
    scale_url = _show_plan_and_request(page, "acceptance-scale")
    _approve_if_asked_and_see_it_succeed(second, scale_url)

    page.goto(f"{portal_url}/fleet/{slug}/scale/")
    page.get_by_role("radio", name="Move the database").check()
    page.get_by_label("Move into pool:").select_option(to_pool)
    page.get_by_label("Reason:").fill("Its pool runs hot")
    move_url = _show_plan_and_request(page, "acceptance-move")
    _approve_if_asked_and_see_it_succeed(second, move_url)

    page.goto(f"{portal_url}/fleet/{slug}/")
    page.locator("#rotate-key-button").click()
    page.get_by_label("Reason:").fill("Yearly key rotation")
    page.get_by_role("button", name="Request the rotation").click()
    expect(page).to_have_url(OPERATION_URL)
    expect(page.locator("#operation-state")).to_have_text("Awaiting approval")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    rotate_url = page.url
    _approve_if_asked_and_see_it_succeed(second, rotate_url)
    _shot(second, "acceptance-rotation-approver")

    for url in (scale_url, move_url, rotate_url):
        page.goto(url)
        expect(page.locator("#operation-state")).to_have_text("Succeeded")
    expect(page.locator("#requested-by")).to_contain_text(re.compile("Ada", re.I))
    expect(page.locator("#approved-by")).to_contain_text(re.compile("Blake", re.I))

    rotation = Operation.objects.get(kind="key_rotate")
    new_kid = rotation.checkpoint["new_kid"]
    assert new_kid != previous_kid
    # Each finished operation re-reads the tenant on the worker: reload until it has.
    _reload_until(page, f"{portal_url}/fleet/{slug}/", "#tenant-app", f"{target} × {plan.capacity}")
    _reload_until(page, f"{portal_url}/fleet/{slug}/", "#key-version-in-use", new_kid)
    _shot(page, "acceptance-tenant-page")
    pool_name = to_pool.rsplit("/", 1)[-1]
    expect(page.locator("#catalogue-heading").locator("..")).to_contain_text(pool_name)
    expect(page.locator("#key-version-in-use")).to_have_text(new_kid)

    page.goto(f"{portal_url}/portal/auditevent/?q={slug}")
    _shot(page, "acceptance-audit")
    rows = page.locator("#result_list tbody tr")
    requested = rows.filter(has_text="operation.requested").filter(has_text=ADA)
    for kind in ("plan_scale", "database_move", "key_rotate"):
        expect(requested.filter(has_text=kind)).to_have_count(1)
    approved = rows.filter(has_text="operation.approved").filter(has_text=BLAKE)
    expect(approved.filter(has_text="key_rotate")).to_have_count(1)


def test_an_admin_scales_a_pool_from_the_pools_page(
    page: Page,
    portal_url,
    fleet,  # noqa: F811
    restore_worker,  # noqa: F811
):
    fleet_refresh(kind=RefreshRun.Kind.HOT)
    pool = PoolSnapshot.objects.filter(sku_name="StandardPool").order_by("name").last()
    assert pool is not None and pool.capacity
    target = 200 if pool.capacity != 200 else 300

    sign_in(page, portal_url, ADA)
    page.goto(f"{portal_url}/monitoring/pools/")
    page.locator(f'a.pool-scale-link[href$="/scaling/pools/{pool.pk}/"]').click()
    expect(page.locator("#pool-capacity")).to_contain_text(f"{pool.capacity} eDTU")
    _shot(page, "pool-scale-form")
    page.get_by_label("Capacity:").select_option(str(target))
    page.get_by_label("Reason:").fill("Quarter-end reporting")
    page.get_by_role("button", name="Show the plan").click()
    expect(page.locator("#scaling-plan")).to_be_visible()
    _shot(page, "pool-scale-plan")
    page.get_by_role("button", name="Request this change").click()
    expect(page).to_have_url(OPERATION_URL)
    approve = page.get_by_role("button", name="Approve")
    assert approve.count() == 0  # an admin cannot approve their own request
    operation = Operation.objects.get(kind__startswith="pool_scale")
    if operation.state == Operation.State.AWAITING_APPROVAL:
        pytest.skip("this plan needs a second admin: the acceptance test covers approvals")
    expect(page.locator("#operation-state")).to_have_text("Succeeded", timeout=120_000)
    assert sql.elastic_pool_get(pool.pool_id).capacity == target


def test_rebalancing_advice_is_one_click_from_a_prefilled_move_request(
    page: Page,
    portal_url,
    fleet,  # noqa: F811
):
    fleet_refresh(kind=RefreshRun.Kind.HOT)  # the seeded noisy neighbour makes a pool hot

    sign_in(page, portal_url, ADA)
    page.goto(f"{portal_url}/scaling/advice/")
    _shot(page, "advice")
    expect(page.locator("#hot-pools")).to_be_visible()
    row = page.locator("#rebalancing-advice tbody tr").first
    tenant, to_pool = row.locator("td").nth(0).inner_text(), row.locator("td").nth(2).inner_text()
    row.get_by_role("link", name="Request this move…").click()

    expect(page).to_have_url(re.compile(rf"/fleet/{re.escape(tenant)}/scale/\?what=move"))
    _shot(page, "advice-prefilled")
    expect(page.get_by_role("radio", name="Move the database")).to_be_checked()
    chosen = page.get_by_label("Move into pool:").locator("option:checked")
    expect(chosen).to_have_text(to_pool)
    expect(page.get_by_label("Reason:")).not_to_be_empty()
    assert not Operation.objects.exists()  # advice only: nothing was requested
    page.get_by_role("button", name="Show the plan").click()
    expect(page.locator("#scaling-plan")).to_be_visible()
