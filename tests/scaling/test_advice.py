"""The rebalancing advice page: hot pools from the snapshots, suggested moves, each linking to a
prefilled move request; nothing is requested by looking."""

from __future__ import annotations

import re

import pytest

from operations.models import Operation
from tests.factories import TenantFactory
from tests.monitoring.factories import PoolSnapshotFactory

pytestmark = pytest.mark.django_db

SERVER = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-fw-data/providers/Microsoft.Sql/servers/sql-fw-aue-01"


@pytest.fixture
def pools():
    hot_id, cool_id = f"{SERVER}/elasticPools/pool-01", f"{SERVER}/elasticPools/pool-02"
    busy = TenantFactory(slug="busy", sql_server_id=SERVER, elastic_pool_id=hot_id)
    TenantFactory(slug="quiet", sql_server_id=SERVER, elastic_pool_id=cool_id)
    common = {"server_name": "sql-fw-aue-01", "capacity": 100, "max_size_bytes": 100 * 1024**3}
    PoolSnapshotFactory(
        pool_id=hot_id.lower(),
        name="pool-01",
        cpu_percent=93,
        storage_used_bytes=10 * 1024**3,
        database_shares=[
            {"database_id": busy.database_id, "database": "db-busy", "tenant": "busy",
             "cpu_percent": 35, "storage_bytes": 1024**3},
        ],
        **common,
    )  # fmt: skip
    PoolSnapshotFactory(
        pool_id=cool_id.lower(), name="pool-02", cpu_percent=15, storage_used_bytes=0, **common
    )
    return hot_id, cool_id


def test_a_hot_pool_gets_a_suggested_move_linking_to_a_prefilled_request(client, admin_user, pools):
    client.force_login(admin_user)

    html = client.get("/scaling/advice/").content.decode()

    assert "pool-01 (sql-fw-aue-01): 93% CPU" in html
    assert "/fleet/busy/scale/?what=move&amp;to_pool=" in html
    assert not Operation.objects.exists()


def test_the_prefilled_form_selects_the_suggested_pool(client, admin_user, pools, azure_emulator):
    # The catalogue's made-up plan is not in Azure: the form opens anyway, saying so.
    _, cool_id = pools
    client.force_login(admin_user)

    html = client.get(
        f"/fleet/busy/scale/?what=move&to_pool={cool_id.lower()}&reason=hot"
    ).content.decode()

    assert f'<option value="{cool_id}" selected>' in html
    assert re.search(r'<input[^>]*value="move"[^>]*checked', html)
