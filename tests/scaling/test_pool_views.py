"""The pool scale page: the form with the pool as last read, the plan from Azure, the signed
confirmation into a `pool_scale` operation; bad input changes nothing."""

from __future__ import annotations

import re

import pytest

from monitoring.models import PoolSnapshot
from operations.models import Operation
from portal.azure import sql
from portal.management.commands.load_demo import catalogue_entry
from scaling.services import scaling_limits
from tenants.models import Tenant
from tenants.services import tenant_import

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def pool(large_emulator) -> PoolSnapshot:
    tenant_import(entries=[catalogue_entry(t) for t in large_emulator.tenants], actor=None)
    tenant = Tenant.objects.exclude(elastic_pool_id="").order_by("slug").first()
    assert tenant is not None
    info = sql.elastic_pool_get(tenant.elastic_pool_id)
    return PoolSnapshot.objects.create(
        pool_id=info.id.lower(),
        name=info.name,
        server_name="sql",
        sku_name=info.sku_name,
        capacity=info.capacity,
        per_database_min=info.per_database_min_capacity,
        per_database_max=info.per_database_max_capacity,
    )


def _bigger(pool: PoolSnapshot) -> int:
    limits = scaling_limits()
    vcore = pool.sku_name.startswith(("GP_", "BC_", "HS_"))
    sizes = limits.vcore_pool_capacities if vcore else limits.dtu_pool_capacities
    return next(s for s in sizes if s > (pool.capacity or 0))


def test_the_form_shows_the_pool_its_tenants_and_only_the_allowed_sizes(client, admin_user, pool):
    client.force_login(admin_user)

    html = client.get(f"/scaling/pools/{pool.pk}/").content.decode()

    members = Tenant.objects.filter(elastic_pool_id__iexact=pool.pool_id)
    assert members and all(f"/fleet/{t.slug}/" in html for t in members)
    assert f'<option value="{_bigger(pool)}"' in html
    assert '<option value="7"' not in html


def test_a_pool_scale_is_planned_then_confirmed_into_an_operation(client, admin_user, pool):
    client.force_login(admin_user)
    target = _bigger(pool)

    planned = client.post(
        f"/scaling/pools/{pool.pk}/", {"capacity": target, "reason": "quarter-end load"}
    ).content.decode()
    signed = re.search(r'name="plan" value="([^"]+)"', planned)
    assert signed, planned
    assert f"→ {target}" in planned and "Last 24 h peak" in planned
    response = client.post(f"/scaling/pools/{pool.pk}/confirm", {"plan": signed.group(1)})

    operation = Operation.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/operations/{operation.pk}/"
    assert operation.kind.startswith("pool_scale")
    assert operation.parameters["target_capacity"] == target


def test_a_size_not_allowed_or_a_min_above_max_is_refused_and_nothing_is_requested(
    client, admin_user, pool
):
    client.force_login(admin_user)

    odd = client.post(f"/scaling/pools/{pool.pk}/", {"capacity": 7, "reason": "x"})
    inverted = client.post(
        f"/scaling/pools/{pool.pk}/",
        {"capacity": _bigger(pool), "per_db_min": 10, "per_db_max": 5, "reason": "x"},
    )

    assert odd.status_code == 400 and inverted.status_code == 400
    assert "min is above the max" in inverted.content.decode()
    assert not Operation.objects.exists()


def test_a_tampered_confirmation_is_refused(client, admin_user, pool):
    client.force_login(admin_user)

    response = client.post(f"/scaling/pools/{pool.pk}/confirm", {"plan": "forged"})

    assert response.status_code == 400
    assert not Operation.objects.exists()


def test_the_pools_page_links_the_scale_page_for_admins_only(client, admin_user, support, pool):
    link = f'href="/scaling/pools/{pool.pk}/"'
    client.force_login(admin_user)
    admin_page = client.get("/monitoring/pools/").content.decode()
    client.force_login(support)
    support_page = client.get("/monitoring/pools/").content.decode()

    assert link in admin_page
    assert link not in support_page
