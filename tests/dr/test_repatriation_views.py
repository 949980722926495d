"""Who may ask for a repatriation from the pages, and what a bad request says: only admins,
only tenants that run away from home and that the person can see, tenants or a tier. Each
refusal creates nothing."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from operations.models import Operation
from tenants.models import ActiveCopy
from tenants.services import tenant_active_copy_set
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def away(db):
    """A tenant the catalogue says runs in Australia Southeast (no Azure behind it: every
    request here is refused before Azure is asked)."""
    tenant = TenantFactory(slug="acme")
    server = tenant.sql_server_id.replace("-aue-", "-ase-")
    return tenant_active_copy_set(
        tenant=tenant,
        copy=ActiveCopy(
            region="australiasoutheast",
            sql_server_id=server,
            database_id=f"{server}/databases/{tenant.database_name}",
            elastic_pool_id="",
            site_id=tenant.app_service_site_id + "-dr",
            at_home=False,
        ),
    )


def said(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_support_may_not_bring_a_tenant_home(client, support, away):
    client.force_login(support)
    response = client.post("/dr/repatriate", {"tenant": "acme", "reason": "back"})
    assert response.status_code == 403
    assert not Operation.objects.exists()


def test_an_account_manager_may_not_bring_a_tenant_home(client, account_manager, away):
    client.force_login(account_manager)
    assert client.post("/dr/repatriate", {"tenant": "acme", "reason": "x"}).status_code == 403
    assert not Operation.objects.exists()


def test_tenants_and_a_tier_together_are_refused_with_the_reason(client, admin_user, away):
    client.force_login(admin_user)
    response = client.post("/dr/repatriate", {"tenant": "acme", "tier": "2", "reason": "back"})
    assert response.status_code == 302 and response["Location"] == "/dr/"
    assert "Choose tenants, or a tier, not both." in said(response)
    assert not Operation.objects.exists()


def test_a_tenant_at_home_is_not_a_choice(client, admin_user, away):
    TenantFactory(slug="homebody")
    client.force_login(admin_user)
    response = client.post("/dr/repatriate", {"tenant": "homebody", "reason": "back"})
    assert "Select a valid choice. homebody is not one of the available choices." in said(response)
    assert not Operation.objects.exists()


def test_a_tier_with_no_tenant_away_is_refused(client, admin_user, away):
    client.force_login(admin_user)
    response = client.post("/dr/repatriate", {"tier": "3", "reason": "back"})
    assert "no tenant of tier 3 runs away" in said(response)
    assert not Operation.objects.exists()


def test_a_reason_is_required(client, admin_user, away):
    client.force_login(admin_user)
    response = client.post("/dr/repatriate", {"tenant": "acme", "reason": ""})
    assert "reason: This field is required." in said(response)
    assert not Operation.objects.exists()


def test_the_tenant_page_offers_bring_home_to_admins_only(client, admin_user, support, away):
    client.force_login(support)
    assert 'id="repatriate-form"' not in client.get("/fleet/acme/").content.decode()
    client.force_login(admin_user)
    page = client.get("/fleet/acme/").content.decode()
    assert 'id="repatriate-form"' in page and 'action="/dr/repatriate"' in page


def test_the_dr_page_lists_tenants_away_and_offers_bring_home_to_admins(
    client, admin_user, support, away
):
    client.force_login(support)
    page = client.get("/dr/").content.decode()
    assert 'id="away-list"' in page and "acme" in page
    assert 'id="repatriate-form"' not in page
    client.force_login(admin_user)
    assert 'id="repatriate-form"' in client.get("/dr/").content.decode()


def test_the_standby_of_a_tenant_away_says_it_serves_the_tenant_not_its_last_reading(
    client, admin_user, away
):
    """Readiness read the standby Stopped before the failover (and cannot read the primary
    again while the region is down); the catalogue knows the standby now serves the tenant."""
    from django.utils import timezone

    from dr.models import DrReadiness

    DrReadiness.objects.create(
        tenant=away,
        ready=True,
        standby_site_id=away.active_site_id,
        standby_state="Stopped",
        checked_at=timezone.now(),
    )
    client.force_login(admin_user)
    for url in ("/dr/", "/fleet/acme/"):
        page = client.get(url).content.decode()
        assert "serving the tenant</strong> since" in page, url
        assert "(Stopped)" not in page and ">Stopped<" not in page, url
