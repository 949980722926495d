"""A person signs in through the emulator's account picker and sees the navigation of their role."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def sign_in(page: Page, portal_url: str, username: str) -> None:
    page.goto(f"{portal_url}/")
    expect(page).to_have_url(re.compile(r"/auth/sign-in/"))
    page.get_by_role("link", name="Sign in with Microsoft").click()
    expect(page.get_by_role("heading", name="Pick an account")).to_be_visible()
    page.locator(f'button[data-username="{username}"]').click()


@pytest.mark.parametrize(
    ("username", "sees", "does_not_see"),
    [
        (
            "avery.account@fleetwise.example",
            ["Tenant catalogue"],
            ["Audit events", "Periodic tasks"],
        ),
        (
            "sasha.support@fleetwise.example",
            ["Tenant catalogue"],
            ["Audit events", "Periodic tasks"],
        ),
        ("ada.admin@fleetwise.example", ["Tenant catalogue", "Audit events", "Periodic tasks"], []),
    ],
)
def test_each_demo_person_signs_in_and_sees_their_navigation(
    page: Page, portal_url, username, sees, does_not_see
):
    sign_in(page, portal_url, username)
    expect(page).to_have_url(f"{portal_url}/")
    expect(page.locator("#user-tools")).to_contain_text(username.split(".")[0].title())
    app_list = page.locator("#content-main .app-list, #content-main")
    for text in sees:
        expect(app_list.get_by_text(text, exact=True).first).to_be_visible()
    for text in does_not_see:
        expect(page.get_by_text(text, exact=True)).to_have_count(0)


def test_a_person_without_a_role_is_refused(page: Page, portal_url):
    sign_in(page, portal_url, "nico.noaccess@fleetwise.example")
    expect(page.get_by_role("heading", name="You have no access to this portal")).to_be_visible()
    page.goto(f"{portal_url}/")
    expect(page).to_have_url(re.compile(r"/auth/sign-in/"))


def test_signing_out_returns_to_the_sign_in_page(page: Page, portal_url):
    sign_in(page, portal_url, "sasha.support@fleetwise.example")
    expect(page).to_have_url(f"{portal_url}/")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/auth/sign-in/"))
    page.goto(f"{portal_url}/")
    expect(page).to_have_url(re.compile(r"/auth/sign-in/"))
