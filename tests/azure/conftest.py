"""Helpers for portal/azure tests: the shared emulator, faults that are always cleared, and
databases of our own (the emulator lives for the whole session; tenants' databases are shared)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from azure_emulator.testing import RunningEmulator
from portal.azure import sql
from portal.azure.errors import AzureNotFoundError


def fresh_caches() -> None:
    """What a new worker process starts with: no SDK clients, no connection read yet."""
    from portal.azure import clients
    from portal.azure.connection import azure_connection

    clients.azure_clients.cache_clear()
    azure_connection.cache_clear()


@pytest.fixture
def faults(azure_emulator: RunningEmulator) -> Iterator[Callable[..., Any]]:
    """`faults(kind, **body)` posts to /_emulator/faults/<kind>; every fault is cleared after."""

    def inject(kind: str, **body: Any) -> Any:
        return azure_emulator.control("POST", f"faults/{kind}", body)

    try:
        yield inject
    finally:
        azure_emulator.control("DELETE", "faults")


@pytest.fixture
def tenant(azure_emulator: RunningEmulator) -> dict[str, Any]:
    """A tenant these tests only read (restores leave its database untouched)."""
    return azure_emulator.tenants[-1]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def restored_copy(tenant: dict[str, Any]) -> Iterator[Callable[[], sql.DatabaseInfo]]:
    """`restored_copy()` makes a database of our own (a PITR copy of the tenant's) in the
    tenant's pool; whatever still exists at the end is deleted."""
    made: list[str] = []

    def make() -> sql.DatabaseInfo:
        live = sql.database_get(tenant["database_id"])
        assert live.earliest_restore_date is not None
        name = unique(f"{live.name}-t")
        target_id = f"{live.server_id}/databases/{name}"
        made.append(target_id)
        token = sql.database_restore_begin(
            target_id=target_id,
            location=live.location,
            create_mode="PointInTimeRestore",
            source_database_id=live.id,
            restore_point_in_time=live.earliest_restore_date + timedelta(minutes=5),
            elastic_pool_id=live.elastic_pool_id,
            tags={"fleetwise-test": "portal-azure"},
        )
        outcome = sql.database_restore_wait(
            target_id=target_id, continuation_token=token, timeout_seconds=30
        )
        assert outcome.done and outcome.succeeded, outcome
        return sql.database_get(target_id)

    yield make
    for database_id in made:
        try:
            current = sql.database_get(database_id)
        except AzureNotFoundError:
            continue
        sql.database_delete_begin(current.id)
