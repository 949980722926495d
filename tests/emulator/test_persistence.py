"""State survives a restart: resources, running LROs, the identity and the CA."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from azure.mgmt.sql import SqlManagementClient
from azure.mgmt.sql.models import Database

from azure_emulator.testing import RunningEmulator


def _client(emulator: RunningEmulator, tenant) -> SqlManagementClient:
    return SqlManagementClient(
        emulator.credential(),
        tenant["subscription_id"],
        base_url=emulator.arm_endpoint,
        connection_verify=emulator.ca_bundle,
        polling_interval=0.2,
    )


def test_state_and_a_running_restore_survive_a_restart(tmp_path):
    with RunningEmulator(fleet_size=4, lro_seconds=2, state_dir=tmp_path) as emulator:
        tenant = emulator.tenants[0]
        where = tenant["sql_resource_group"], tenant["sql_server_name"]
        client = _client(emulator, tenant)
        db = client.databases.get(*where, tenant["database_name"])
        client.databases.rename(*where, tenant["database_name"], {"id": db.id + "-renamed"})
        client.databases.begin_create_or_update(
            *where,
            "db-restored-across-restart",
            Database(
                location=db.location,
                create_mode="PointInTimeRestore",
                source_database_id=db.id + "-renamed",
                restore_point_in_time=datetime.now(UTC) - timedelta(hours=1),
            ),
        )
        secret, ca = emulator.demo["client_secret"], Path(emulator.ca_bundle).read_bytes()

        emulator.restart()

        assert emulator.demo["client_secret"] == secret
        assert Path(emulator.ca_bundle).read_bytes() == ca
        client = _client(emulator, tenant)
        assert client.databases.get(*where, tenant["database_name"] + "-renamed").name.endswith(
            "-renamed"
        )
        deadline = time.monotonic() + 10
        while client.databases.get(*where, "db-restored-across-restart").status != "Online":
            assert time.monotonic() < deadline, "the restore never completed after the restart"
            time.sleep(0.2)
