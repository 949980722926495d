"""The admins' key page: every tenant's key inventory in one list, from the database only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import pytest

from keys.models import KeyInventory
from tenants.models import Tenant
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

COLLECTED = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _server_key(slug: str, covers: list[str]) -> KeyInventory:
    return KeyInventory.objects.create(
        tenant=cast(Tenant, TenantFactory(slug=slug)),
        level="server",
        key_id="https://kv-fw.vault.azure.net/keys/tde-legacy",
        kid_in_use="https://kv-fw.vault.azure.net/keys/tde-legacy/v2",
        versions=[
            {
                "version": "v1",
                "kid": "https://kv-fw.vault.azure.net/keys/tde-legacy/v1",
                "enabled": True,
                "created": "2026-01-01T00:00:00+00:00",
                "expires": None,
                "in_use": False,
                "needed_until": "2026-12-09T01:00:00+00:00",
                "reasons": ["PITR"],
            },
            {
                "version": "v2",
                "kid": "https://kv-fw.vault.azure.net/keys/tde-legacy/v2",
                "enabled": True,
                "created": "2026-11-01T00:00:00+00:00",
                "expires": "2027-11-01T00:00:00+00:00",
                "in_use": True,
                "needed_until": None,
                "reasons": [],
            },
        ],
        rotation_policy="rotate P90D after creation",
        auto_rotation=True,
        covers=covers,
        collected_at=COLLECTED,
    )


def test_an_admin_sees_every_tenants_key_with_versions_and_who_a_server_key_covers(
    client, admin_user
):
    _server_key("legacy-a", ["legacy-a", "legacy-b"])
    TenantFactory(slug="never-read")
    client.force_login(admin_user)

    page = client.get("/keys/").content.decode()

    row = page.split('id="key-legacy-a"')[1].split("</tr>")[0]
    assert "server" in row and "covers legacy-a, legacy-b" in row
    assert "tde-legacy/v2" in row and "(in use)" in row
    # Local time with UTC beside it, like every time in the portal.
    assert "until 2026-12-09 12:00:00 AEDT (2026-12-09 01:00:00 UTC)" in row
    assert "expires 2027-11-01 11:00:00 AEDT (2027-11-01 00:00:00 UTC)" in row
    assert "rotate P90D after creation" in row and ">on<" in row
    never = page.split('id="key-never-read"')[1].split("</tr>")[0]
    assert "Not collected yet" in never and "/fleet/never-read/rotate-key/" in never


def test_the_navigation_links_the_key_page_for_admins_only(client, admin_user, support):
    client.force_login(admin_user)
    admin_page = client.get("/operations/").content.decode()
    client.force_login(support)
    support_page = client.get("/operations/").content.decode()

    assert 'href="/keys/"' in admin_page
    assert 'href="/keys/"' not in support_page


def test_the_key_page_costs_the_same_queries_for_three_tenants_or_thirty(
    client, admin_user, django_assert_num_queries
):
    client.force_login(admin_user)
    for n in range(3):
        _server_key(f"few-{n}", [f"few-{n}"])
    with django_assert_num_queries(QUERIES):
        assert client.get("/keys/").status_code == 200
    for n in range(27):
        _server_key(f"many-{n}", [f"many-{n}"])
    with django_assert_num_queries(QUERIES) as context:
        page = client.get("/keys/").content.decode()
    assert page.count('<tr id="key-') == 30, context


# Session, user, the user's own and group permissions, the staff profile (only-assigned
# check), one for the tenants with their inventories joined in, and the header's approvals
# badge (one COUNT).
QUERIES = 7
