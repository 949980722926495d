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


def _signed(html: str) -> str:
    match = re.search(r'name="plan" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def test_the_form_offers_the_allowed_skus_and_the_other_pools_of_the_server(
    client, admin_user, tenant
):
    client.force_login(admin_user)

    html = client.get(f"/fleet/{tenant.slug}/scale/").content.decode()

    assert '<option value="P1v3">' in html and '<option value="S3">' in html
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
