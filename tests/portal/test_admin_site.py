from __future__ import annotations

import pytest

from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def test_the_landing_page_needs_a_signed_in_person(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_landing_page_is_the_fleet_dashboard_with_counts(client, admin_user):
    TenantFactory(slug="acme")
    TenantFactory(slug="globex", status="suspended")
    client.force_login(admin_user)
    response = client.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<title>Fleet | Fleetwise Ops</title>" in body
    assert 'id="fleet-table"' in body
    assert "2 tenants" in body
    # Neither has been refreshed yet: both unknown, each saying so.
    assert "2 unknown" in body
    assert body.count("Not collected yet") == 2


def test_an_empty_catalogue_says_so_and_offers_to_add_a_tenant(client, admin_user):
    client.force_login(admin_user)
    body = client.get("/").content.decode()
    assert "No tenants are in the catalogue yet." in body
    assert "/tenants/tenant/add/" in body


def test_a_limited_account_manager_sees_only_assigned_tenants_on_the_landing_page(
    client, account_manager
):
    from portal.models import StaffProfile

    StaffProfile.objects.create(user=account_manager, only_assigned_tenants=True)
    TenantFactory(slug="mine", account_manager=account_manager)
    TenantFactory(slug="someone-elses")
    client.force_login(account_manager)
    body = client.get("/").content.decode()
    assert ">mine<" in body
    assert "someone-elses" not in body


def test_the_landing_page_query_count_does_not_grow_with_the_fleet(
    client, admin_user, django_assert_max_num_queries
):
    for n in range(30):
        TenantFactory(slug=f"t{n:02d}", account_manager=admin_user)
    client.force_login(admin_user)
    with django_assert_max_num_queries(12):
        assert client.get("/").status_code == 200


def test_the_health_probe_answers_without_signing_in(client):
    response = client.get("/healthz/live")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize("path", ["/portal/auditevent/", "/tenants/tenant/", "/"])
def test_every_page_loads_the_portal_stylesheet_so_the_busy_sign_stays_hidden(
    client, admin_user, path
):
    # Without portal.css the busy sign ("Working…") showed as text in the header of the
    # admin's own lists.
    client.force_login(admin_user)
    body = client.get(path).content.decode()
    assert 'href="/static/portal/portal.css"' in body and 'id="busy-indicator"' in body


def test_the_admin_model_sidebar_shows_only_beside_the_admins_model_pages(client, admin_user):
    TenantFactory(slug="acme")
    client.force_login(admin_user)
    for url in ("/dr/", "/operations/", "/fleet/acme/", "/pools/"):
        assert 'id="nav-sidebar"' not in client.get(url).content.decode(), url
    assert 'id="nav-sidebar"' in client.get("/tenants/tenant/").content.decode()
