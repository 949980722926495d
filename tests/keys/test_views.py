"""The rotate-key page: an admin requests, the operation awaits a second admin; refusals change
nothing."""

from __future__ import annotations

import pytest

from operations.models import Operation
from portal.management.commands.load_demo import catalogue_entry
from tenants.services import tenant_import

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def tenant_slug(large_emulator) -> str:
    entry = next(t for t in large_emulator.tenants if t.get("key_level") == "database")
    tenant_import(entries=[catalogue_entry(entry)], actor=None)
    return str(entry["slug"])


def test_the_tenant_page_offers_rotation_and_scaling_to_admins_only(
    client, admin_user, support, tenant_slug
):
    client.force_login(admin_user)
    page = client.get(f"/fleet/{tenant_slug}/").content.decode()
    client.force_login(support)
    other = client.get(f"/fleet/{tenant_slug}/").content.decode()

    assert 'id="rotate-key-button"' in page and 'id="scale-button"' in page
    assert 'id="rotate-key-button"' not in other and 'id="scale-button"' not in other


def test_an_admin_requests_a_rotation_which_awaits_a_second_admin(client, admin_user, tenant_slug):
    client.force_login(admin_user)

    response = client.post(f"/fleet/{tenant_slug}/rotate-key/", {"reason": "yearly rotation"})

    operation = Operation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/operations/{operation.pk}/"
    assert (operation.kind, operation.state) == ("key_rotate", "awaiting_approval")
    assert operation.requested_by == admin_user


def test_a_rotation_without_a_reason_is_refused_and_nothing_is_requested(
    client, admin_user, tenant_slug
):
    client.force_login(admin_user)

    response = client.post(f"/fleet/{tenant_slug}/rotate-key/", {"reason": "  "})

    assert response.status_code == 400
    assert not Operation.objects.exists()


def test_a_second_rotation_while_one_is_pending_is_refused_in_words(
    client, admin_user, tenant_slug
):
    client.force_login(admin_user)
    client.post(f"/fleet/{tenant_slug}/rotate-key/", {"reason": "first"})

    response = client.post(f"/fleet/{tenant_slug}/rotate-key/", {"reason": "second"})

    assert response.status_code == 400
    assert "already has an operation" in response.content.decode()
    assert Operation.objects.count() == 1


def test_the_tenant_page_shows_the_collected_key_inventory(client, admin_user, tenant_slug):
    from keys.inventory import key_inventory_collect
    from tenants.models import Tenant

    tenant = Tenant.objects.get(slug=tenant_slug)
    client.force_login(admin_user)
    before = client.get(f"/fleet/{tenant_slug}/").content.decode()
    inventory = key_inventory_collect(tenant)

    page = client.get(f"/fleet/{tenant_slug}/").content.decode()

    assert "not collected yet" in before
    assert inventory.level == "database" and inventory.error == ""
    assert 'id="key-versions"' in page and "(in use)" in page
    assert inventory.kid_in_use.rsplit("/", 1)[-1] in page
