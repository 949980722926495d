"""A support engineer asks for an in-place restore; an admin sees the header badge, opens the
approvals page and approves; the restore runs on a real worker and the requester gets the
"succeeded" e-mail in the demo's mail catcher over real SMTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from notifications.demo_receivers import MailCatcher
from operations.models import Operation
from tests.browser.test_restore import fleet, plain_tenant  # noqa: F401 - the fixture
from tests.browser.test_sign_in import sign_in
from tests.conftest import free_port
from tests.processes import WorkerProcess, wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

SUPPORT = "sasha.support@fleetwise.example"
ADMIN = "ada.admin@fleetwise.example"


@pytest.fixture
def demo_mailbox(tmp_path, settings) -> Iterator[MailCatcher]:
    """The demo's mail catcher on a spare port; the portal and its worker send to it by SMTP."""
    catcher = MailCatcher(tmp_path / "mail", port=free_port())
    catcher.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = catcher.controller.port
    yield catcher
    catcher.stop()


@pytest.fixture
def mailing_worker(worker_env, demo_mailbox, tmp_path) -> Iterator[WorkerProcess]:
    env = {
        **worker_env,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(demo_mailbox.controller.port),
    }
    process = WorkerProcess(env, tmp_path / "worker.log")
    process.start()
    yield process
    process.stop()


def mails_to(mailbox: MailCatcher, person: str, subject: re.Pattern[str]) -> list:
    return [m for m in mailbox.messages() if person in m["To"] and subject.search(m["Subject"])]


@pytest.mark.usefixtures("fleet")
def test_an_in_place_restore_is_approved_from_the_approvals_page_and_the_requester_is_mailed(
    page: Page,
    browser: Browser,
    browser_context_args,
    portal_url,
    azure_emulator,
    mailing_worker,
    demo_mailbox,
):
    slug = plain_tenant(azure_emulator)["slug"]
    two_hours_ago = (timezone.now() - timedelta(hours=2)).astimezone(ZoneInfo("Australia/Sydney"))

    # The requester asks.
    sign_in(page, portal_url, SUPPORT)
    page.goto(f"{portal_url}/fleet/{slug}/restore/")
    expect(page.locator("#earliest-restore-point")).to_be_visible(timeout=60_000)
    page.get_by_role("radio", name="In place").check()
    page.get_by_role("radio", name="A point in time").check()
    page.get_by_role("radio", name="local (Australia/Sydney)").check()
    page.get_by_label("Time (for a point in time)").fill(f"{two_hours_ago:%d/%m/%Y %H:%M}")
    expect(page.locator("#when-preview")).to_contain_text(f"= {two_hours_ago:%Y-%m-%d %H:%M}")
    page.get_by_label("Reason:").fill("Bad import overwrote the rate cards")
    page.get_by_label("Ticket:").fill("SUP-5150")
    page.get_by_role("button", name="Check the restore").click()
    expect(page.locator("#needs-approval")).to_be_visible()
    page.get_by_label(re.compile("to confirm")).fill(slug)
    page.get_by_role("button", name=f"Restore {slug}").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(portal_url)}/operations/\d+/$"))
    expect(page.locator("#operation-state")).to_have_text("Awaiting approval")
    operation = Operation.objects.get(tenant__slug=slug, kind="restore_in_place")

    # A second person sees the badge, opens the approvals page and approves.
    approver_context = browser.new_context(**browser_context_args)
    approver = approver_context.new_page()
    sign_in(approver, portal_url, ADMIN)
    badge = approver.locator("#approvals-badge")
    expect(badge).to_have_text("1 waiting for your approval")
    badge.click()
    expect(approver).to_have_url(f"{portal_url}/operations/approvals/")
    card = approver.locator(f"#approval-{operation.pk}")
    expect(card).to_contain_text("Bad import overwrote the rate cards")
    expect(card).to_contain_text("Sasha Support")
    expect(card).to_contain_text("in place (the restored copy becomes the live database)")
    expect(card.locator(".countdown")).to_have_text(re.compile(r"^expires in \d+ h \d\d min$"))
    card.get_by_role("button", name="Approve").click()
    expect(approver.locator("#no-approvals")).to_be_visible()
    expect(approver.locator("#approvals-badge")).to_be_hidden()
    approver_context.close()

    # The requester's page follows the run; the worker mails them when it has succeeded.
    expect(page.locator("#operation-state")).to_have_text("Succeeded", timeout=180_000)
    operation.refresh_from_db()
    assert operation.approved_by is not None
    assert operation.approved_by.username == ADMIN
    succeeded = re.compile(r"^Restore in place of .+ succeeded$")
    mail = wait_for(
        lambda: mails_to(demo_mailbox, SUPPORT, succeeded),
        what="the requester's 'succeeded' e-mail",
        worker=mailing_worker,
    )[0]
    assert f"/operations/{operation.pk}/" in mail.get_body(preferencelist=("plain",)).get_content()
