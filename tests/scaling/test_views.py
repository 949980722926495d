"""The scaling page: the form, the plan with its numbers, the confirmation (re-planned from
Azure), and refusals that change nothing."""

from __future__ import annotations

import re

import pytest

from operations.models import Operation
from portal.management.commands.load_demo import catalogue_entry
from tenants.models import Tenant
from tenants.services import tenant_import

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def tenant(large_emulator) -> Tenant:
    tenant_import(entries=[catalogue_entry(t) for t in large_emulator.tenants], actor=None)
    return Tenant.objects.get(slug=large_emulator.tenants[0]["slug"])


@pytest.fixture
def dead_azure(large_emulator):
    """Every ARM read refused (a permanent error, so the SDK does not retry)."""
    large_emulator.control(
        "POST", "faults/error-rate", {"operation": "*", "rate": 1, "status": 400, "code": "Nope"}
    )
    yield
    large_emulator.control("DELETE", "faults")


def _signed(html: str) -> str:
    match = re.search(r'name="plan" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def test_the_form_offers_the_allowed_skus_and_the_other_pools_of_the_server(
    client, admin_user, tenant
):
    client.force_login(admin_user)

    html = client.get(f"/fleet/{tenant.slug}/scale/").content.decode()

    assert '<option value="P1v3">P1v3 · PremiumV3 · 2 cores' in html
    assert '<option value="S3">S3 · Standard · 4 cores' in html
    others = {
        t.elastic_pool_id
        for t in Tenant.objects.filter(sql_server_id=tenant.sql_server_id)
        if t.elastic_pool_id != tenant.elastic_pool_id
    }
    assert all(f'value="{pool}"' in html for pool in others)
    assert f'value="{tenant.elastic_pool_id}"' not in html


def test_a_move_is_planned_then_confirmed_into_an_operation(client, admin_user, tenant):
    client.force_login(admin_user)
    planned = client.post(
        f"/fleet/{tenant.slug}/scale/", {"what": "move", "to_sku": "S3", "reason": "hot"}
    )
    assert planned.status_code == 200
    assert "single-database objective S3" in planned.content.decode()

    confirmed = client.post(
        f"/fleet/{tenant.slug}/scale/confirm", {"plan": _signed(planned.content.decode())}
    )

    operation = Operation.objects.get()
    assert confirmed["Location"] == f"/operations/{operation.pk}/"
    assert operation.kind == "database_move" and operation.parameters["sku_name"] == "S3"


def test_a_tampered_plan_is_refused(client, admin_user, tenant):
    client.force_login(admin_user)
    planned = client.post(
        f"/fleet/{tenant.slug}/scale/", {"what": "move", "to_sku": "S3", "reason": "hot"}
    )

    response = client.post(
        f"/fleet/{tenant.slug}/scale/confirm", {"plan": _signed(planned.content.decode()) + "x"}
    )

    assert response.status_code == 400
    assert not Operation.objects.exists()


def test_an_incomplete_form_is_refused_with_what_is_missing(client, admin_user, tenant):
    client.force_login(admin_user)

    response = client.post(f"/fleet/{tenant.slug}/scale/", {"what": "plan", "reason": "x"})

    assert response.status_code == 400
    assert "Choose the plan&#x27;s SKU and instance count." in response.content.decode()


def test_the_form_shows_the_plan_and_database_as_azure_has_them_now(client, admin_user, tenant):
    client.force_login(admin_user)

    html = client.get(f"/fleet/{tenant.slug}/scale/").content.decode()

    now = html[html.index('id="scaling-now"') : html.index('id="scale-form"')]
    plan_name = tenant.app_service_plan_id.rsplit("/", 1)[-1]
    assert re.search(rf"{plan_name}: <strong>\d+ × \w+</strong> \(\w+, its tier scales out to", now)
    assert "Plan's last 24 h peak" in now and "CPU " in now and "memory " in now
    assert tenant.display_name in now
    pool_name = tenant.elastic_pool_id.rsplit("/", 1)[-1]
    assert f"in elastic pool <strong>{pool_name}</strong>" in now


def test_the_form_still_opens_when_azure_cannot_be_read(client, admin_user, tenant, dead_azure):
    client.force_login(admin_user)

    response = client.get(f"/fleet/{tenant.slug}/scale/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="now-error"' in html and tenant.app_service_plan_id in html
