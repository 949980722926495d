"""Flash messages about an operation are shown only while they are still true: the operation's
page drops one written about an earlier state, and the live panel retires it when the state
changes. Messages about anything else stay."""

from __future__ import annotations

import re

import pytest

from operations.models import Operation
from portal import roles
from tests.factories import TenantFactory, UserFactory
from tests.operations.test_views import requested

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_admin(db):
    return UserFactory(username="blake.admin@fleetwise.example", groups=[roles.ADMINS])


def flashes(page: str) -> list[str]:
    found = re.search(r'<ul class="messagelist">(.*?)</ul>', page, re.S)
    return re.findall(r"<li[^>]*>(.*?)</li>", found.group(1), re.S) if found else []


def test_the_approved_message_shows_while_the_operation_is_still_queued(
    client, support, admin_user
):
    operation = requested(TenantFactory(slug="acme"), support)
    client.force_login(admin_user)
    page = client.post(f"/operations/{operation.pk}/approve", follow=True).content.decode()
    assert flashes(page) == [f"Operation #{operation.pk} approved; it is queued."]


def test_the_approved_message_is_not_shown_once_the_operation_has_succeeded(
    client, support, admin_user
):
    operation = requested(TenantFactory(slug="acme"), support)
    client.force_login(admin_user)
    client.post(f"/operations/{operation.pk}/approve")
    # The worker finished it before the page was drawn.
    Operation.objects.filter(pk=operation.pk).update(state=Operation.State.SUCCEEDED)
    page = client.get(f"/operations/{operation.pk}/").content.decode()
    assert "approved; it is queued" not in page
    assert 'id="operation-state" class="state state-succeeded"' in page
    # Consumed, not postponed: it does not turn up on the next page either.
    assert "approved; it is queued" not in client.get("/operations/").content.decode()


def test_messages_about_other_things_are_kept_on_the_operation_page(client, support, admin_user):
    mine = requested(TenantFactory(slug="acme"), support)
    other = requested(TenantFactory(slug="other"), support)
    client.force_login(admin_user)
    client.post(f"/operations/{other.pk}/approve")
    Operation.objects.filter(pk=other.pk).update(state=Operation.State.SUCCEEDED)
    page = client.get(f"/operations/{mine.pk}/").content.decode()
    # About another operation: this page does not judge it.
    assert flashes(page) == [f"Operation #{other.pk} approved; it is queued."]


def test_the_live_panel_retires_messages_about_an_earlier_state_once_it_changes(
    client, support, admin_user
):
    operation = requested(TenantFactory(slug="acme"), support)
    client.force_login(admin_user)
    client.post(f"/operations/{operation.pk}/approve")
    drawn = client.get(f"/operations/{operation.pk}/").content.decode()
    assert f'class="operation-{operation.pk} operation-state-queued success"' in drawn

    unchanged = client.get(f"/operations/{operation.pk}/progress?since=queued").content.decode()
    assert "hx-swap-oob" not in unchanged

    Operation.objects.filter(pk=operation.pk).update(state=Operation.State.RUNNING)
    changed = client.get(f"/operations/{operation.pk}/progress?since=queued").content.decode()
    assert (
        f'hx-swap-oob="delete:.messagelist li.operation-{operation.pk}'
        ':not(.operation-state-running)"' in changed
    )
    # The next poll says it has seen the new state: removed once, not on every poll.
    assert f"/operations/{operation.pk}/progress?since=running" in changed
