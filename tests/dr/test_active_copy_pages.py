"""Scaling and key pages act on the copy a failed-over tenant runs on (the paired server's
database and pool, the standby's plan), not on its home resources (a real failover of one
tenant through the emulator, then the outage ended: the `away` fixture)."""

from __future__ import annotations

import pytest

from keys.inventory import key_inventory_collect
from keys.rotation import DATABASE_LEVEL, SERVER_LEVEL
from keys.services import rotation_for
from portal.azure import sql
from scaling.services import pool_scale_plan, scaling_now
from tenants.models import Tenant
from tenants.selectors import tenants_in_pool, tenants_on_server
from tenants.services import tenant_pool_record

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def test_scaling_reads_and_offers_what_the_tenant_runs_on_now(away, client, admin_user):
    active = away.active
    home_plan = away.app_service_plan_id.rsplit("/", 1)[-1]

    now = scaling_now(tenant=away)
    assert now.plan.name == f"{home_plan}-ase" and now.plan.location == "Australia Southeast"
    assert now.sharing == (away.display_name,)
    assert now.database.id.lower() == active.database_id.lower()

    # The tenant is counted in the paired pool it runs in, not in its home pool.
    assert (
        away.display_name
        in pool_scale_plan(pool_id=active.elastic_pool_id, target_capacity=999).lines[2]
    )
    assert away not in tenants_in_pool(away.elastic_pool_id)
    assert away in tenants_on_server(active.sql_server_id)

    client.force_login(admin_user)
    page = client.get(f"/fleet/{away.slug}/scale/").content.decode()
    assert 'id="acts-on-active"' in page and f"{home_plan}-ase" in page
    # "Other pools" are the active server's: none of the home server's pools is offered.
    home_pools = {
        t.elastic_pool_id for t in Tenant.objects.filter(sql_server_id=away.sql_server_id)
    }
    assert not [p for p in home_pools if f'value="{p}"' in page]

    # A move of the active copy into another pool records the active pool, not the home one.
    other = active.elastic_pool_id.rsplit("/", 1)[0] + "/pool-elsewhere-dr"
    tenant_pool_record(tenant=away, elastic_pool_id=other, by="test")
    away.refresh_from_db()
    assert away.active.elastic_pool_id == other
    assert away.elastic_pool_id in home_pools


def test_key_pages_and_rotations_act_on_the_active_databases_protector(away, client, admin_user):
    active = away.active
    database = sql.database_get(active.database_id)

    inventory = key_inventory_collect(away)

    assert inventory.error == ""
    if database.encryption_protector:
        # Failover kept the tenant's own key: the copy there is protected by it.
        assert inventory.level == "database"
        assert inventory.kid_in_use == database.encryption_protector
        level = DATABASE_LEVEL
    else:
        assert inventory.kid_in_use == (sql.encryption_protector(active.sql_server_id).uri or "")
        level = SERVER_LEVEL
    _, parameters, _ = rotation_for(away, level)
    assert parameters.server_id == active.sql_server_id
    # A new version must reach the home server too: the copy goes back there.
    assert parameters.geo_server_id == away.sql_server_id
    if level == DATABASE_LEVEL:
        assert parameters.database_id == active.database_id

    client.force_login(admin_user)
    page = client.get(f"/fleet/{away.slug}/rotate-key/").content.decode()
    assert 'id="acts-on-active"' in page and active.database_name in page
