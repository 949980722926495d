from __future__ import annotations

import re

import pytest

from portal import roles
from portal.models import AuditEvent, StaffProfile
from tenants.models import Tenant
from tests.factories import TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def form_data(tenant: Tenant, **changes: str) -> dict[str, str]:
    fields = [
        "slug",
        "display_name",
        "status",
        "region",
        "subscription_id",
        "resource_group",
        "app_service_site_id",
        "app_service_plan_id",
        "sql_server_id",
        "database_id",
        "elastic_pool_id",
        "key_vault_key_id",
        "app_insights_id",
        "geo_sql_server_id",
        "dr_tier",
    ]
    data = {field: getattr(tenant, field) for field in fields}
    data.update({"tags": "{}", "account_manager": ""}, **changes)
    return data


def test_an_admin_adds_a_tenant_and_the_change_is_audited(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/tenants/tenant/add/", form_data(TenantFactory.build(slug="acme")))
    assert response.status_code == 302, response.content
    assert Tenant.objects.filter(slug="acme").exists()
    event = AuditEvent.objects.get(action="tenant.create")
    assert (event.tenant, event.actor) == ("acme", admin_user.username)


def test_a_malformed_id_in_the_admin_form_names_the_field_and_saves_nothing(client, admin_user):
    client.force_login(admin_user)
    data = form_data(TenantFactory.build(slug="acme"), database_id="db-acme")
    response = client.post("/tenants/tenant/add/", data)
    assert response.status_code == 200
    assert "Not a valid SQL database resource id" in response.content.decode()
    assert not Tenant.objects.exists()
    assert not AuditEvent.objects.exists()


def test_an_account_manager_can_browse_but_not_change_the_catalogue(client, account_manager):
    tenant = TenantFactory(slug="acme")
    client.force_login(account_manager)
    assert client.get("/tenants/tenant/").status_code == 200
    assert client.get("/tenants/tenant/add/").status_code == 403
    response = client.post(
        f"/tenants/tenant/{tenant.pk}/change/", form_data(tenant, display_name="Hacked")
    )
    assert response.status_code == 403
    assert client.post(f"/tenants/tenant/{tenant.pk}/delete/", {"post": "yes"}).status_code == 403
    tenant.refresh_from_db()
    assert tenant.display_name != "Hacked"


def test_a_person_without_a_role_cannot_open_the_catalogue(client, outsider):
    TenantFactory(slug="acme")
    client.force_login(outsider)
    assert client.get("/tenants/tenant/").status_code == 403
    assert client.get("/").status_code == 403
    denied = AuditEvent.objects.filter(action="access.denied", actor=outsider.username)
    assert [event.details["path"] for event in denied.order_by("id")] == ["/tenants/tenant/", "/"]


def test_deleting_a_tenant_is_audited(client, admin_user):
    tenant = TenantFactory(slug="acme")
    client.force_login(admin_user)
    assert client.post(f"/tenants/tenant/{tenant.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Tenant.objects.exists()
    assert AuditEvent.objects.get(action="tenant.delete").tenant == "acme"


def test_the_catalogue_list_query_count_is_pinned(
    client, admin_user, django_assert_max_num_queries
):
    for n in range(40):
        TenantFactory(slug=f"t{n:02d}", account_manager=admin_user)
    client.force_login(admin_user)
    with django_assert_max_num_queries(12):
        response = client.get("/tenants/tenant/?q=t0")
    assert response.status_code == 200


def _account_manager_choices(client) -> set[str]:
    response = client.get("/tenants/tenant/")
    assert response.status_code == 200
    found = re.findall(r"account_manager__id__exact=\d+[^>]*>([^<]+)<", response.content.decode())
    return {name.strip() for name in found}


@pytest.fixture
def cast_of_managers(db, account_manager, admin_user, support):
    other = UserFactory(username="bo.accounts@fleetwise.example", groups=[roles.ACCOUNT_MANAGERS])
    break_glass = UserFactory(username="demo", is_superuser=True, is_staff=True, groups=[])
    TenantFactory(slug="amy-1", account_manager=account_manager)
    TenantFactory(slug="bo-1", account_manager=other)
    # A tenant left with an admin as its contact: admins are not account managers.
    TenantFactory(slug="admin-1", account_manager=admin_user)
    return {"amy": account_manager, "bo": other, "break_glass": break_glass}


def test_the_account_manager_filter_offers_only_account_managers(
    client, admin_user, cast_of_managers
):
    client.force_login(admin_user)
    assert _account_manager_choices(client) == {
        "amy.accounts@fleetwise.example",
        "bo.accounts@fleetwise.example",
    }


def test_an_account_manager_limited_to_their_tenants_sees_only_themselves_in_the_filter(
    client, account_manager, cast_of_managers
):
    StaffProfile.objects.create(user=account_manager, only_assigned_tenants=True)
    client.force_login(account_manager)
    assert _account_manager_choices(client) == {"amy.accounts@fleetwise.example"}


def test_the_catalogue_offers_no_bulk_delete(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/tenants/tenant/")

    assert response.status_code == 200
    assert "delete_selected" not in response.text


def test_the_admin_shows_only_the_schedules_the_portal_uses(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/django_celery_beat/")

    assert response.status_code == 200
    assert "/django_celery_beat/intervalschedule/" in response.text
    for unused in ("crontabschedule", "solarschedule", "clockedschedule"):
        assert f"/django_celery_beat/{unused}/" not in response.text
