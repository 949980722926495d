"""portal/azure/replication.py through the emulator: creating a geo-secondary of a database of
our own, reading its replication links, and failing the link over (planned and forced)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from portal.azure import replication, sql
from portal.azure.errors import AzureNotFoundError, AzureOperationError


@pytest.fixture
def geo_pair(
    tenant: dict[str, Any], restored_copy: Callable[[], sql.DatabaseInfo]
) -> Iterator[tuple[sql.DatabaseInfo, str]]:
    """(primary, secondary id): a copy of the tenant's database geo-replicated onto the tenant's
    paired server. Both are deleted after the test, whichever is the secondary by then."""
    primary = restored_copy()
    secondary_id = f"{tenant['geo_server_id']}/databases/{primary.name}"
    token = replication.geo_secondary_begin(
        primary_database_id=primary.id,
        secondary_server_id=tenant["geo_server_id"],
        location=tenant["geo_region"],
        elastic_pool_id=None,
        tags={"fleetwise-test": "portal-azure"},
    )
    outcome = sql.database_restore_wait(
        target_id=secondary_id, continuation_token=token, timeout_seconds=30
    )
    assert outcome.done and outcome.succeeded, outcome
    yield primary, secondary_id
    for database_id in sorted((primary.id, secondary_id), key=lambda i: _role(i) != "Secondary"):
        token = sql.database_delete_begin(database_id)
        sql.database_delete_wait(
            database_id=database_id, continuation_token=token, timeout_seconds=30
        )


def _role(database_id: str) -> str:
    try:
        links = replication.replication_links(database_id)
    except AzureNotFoundError:
        return ""
    return links[0].role if links else ""


def test_a_geo_secondary_is_created_with_the_primarys_name_and_one_link_on_each_side(geo_pair):
    primary, secondary_id = geo_pair

    secondary = sql.database_get(secondary_id)
    [on_primary] = replication.replication_links(primary.id)
    [on_secondary] = replication.replication_links(secondary_id)

    assert secondary.name == primary.name
    assert (secondary.secondary_type, secondary.status) == ("Geo", "Online")
    assert on_primary.name == on_secondary.name
    assert (on_primary.role, on_primary.partner_role) == ("Primary", "Secondary")
    assert on_primary.database_id.lower() == primary.id.lower()
    assert on_primary.partner_database_id.lower() == secondary_id.lower()
    assert on_primary.partner_location == "australiasoutheast"
    assert on_secondary.role == "Secondary"
    assert on_secondary.partner_server == primary.server_id.rsplit("/", 1)[-1]
    assert on_secondary.caught_up and on_secondary.percent_complete == 100
    assert on_secondary.termination_allowed


def test_a_database_without_a_secondary_has_no_links(azure_emulator, restored_copy):
    assert replication.replication_links(restored_copy().id) == []


def test_a_failover_issued_on_the_primary_is_refused_with_azures_code(geo_pair):
    primary, _ = geo_pair
    [link] = replication.replication_links(primary.id)

    with pytest.raises(AzureOperationError) as caught:
        replication.failover_begin(
            secondary_database_id=primary.id, link_name=link.name, allow_data_loss=False
        )

    assert caught.value.code == "GeoReplicationDatabaseNotSecondary"
    assert replication.replication_links(primary.id)[0].role == "Primary"


def test_a_planned_failover_swaps_the_roles(geo_pair):
    primary, secondary_id = geo_pair
    [link] = replication.replication_links(secondary_id)

    token = replication.failover_begin(
        secondary_database_id=secondary_id, link_name=link.name, allow_data_loss=False
    )
    outcome = replication.failover_wait(
        secondary_database_id=secondary_id,
        link_name=link.name,
        continuation_token=token,
        timeout_seconds=30,
    )

    assert outcome.done and outcome.succeeded, outcome
    assert replication.replication_links(secondary_id)[0].role == "Primary"
    assert replication.replication_links(primary.id)[0].role == "Secondary"
    assert sql.database_get(primary.id).secondary_type == "Geo"


def test_a_forced_failover_works_during_the_primarys_outage(geo_pair, faults):
    primary, secondary_id = geo_pair
    [link] = replication.replication_links(secondary_id)
    faults("outage", region="australiaeast", active=True)

    with pytest.raises(AzureOperationError) as planned:
        replication.failover_begin(
            secondary_database_id=secondary_id, link_name=link.name, allow_data_loss=False
        )
    token = replication.failover_begin(
        secondary_database_id=secondary_id, link_name=link.name, allow_data_loss=True
    )
    outcome = replication.failover_wait(
        secondary_database_id=secondary_id,
        link_name=link.name,
        continuation_token=token,
        timeout_seconds=30,
    )
    [during] = replication.replication_links(secondary_id)
    faults("outage", region="australiaeast", active=False)

    assert planned.value.code == "PlannedFailoverTimedOut"
    assert outcome.done and outcome.succeeded, outcome
    assert (during.role, during.state, during.caught_up) == ("Primary", "SUSPENDED", False)
    [rejoined] = replication.replication_links(primary.id)
    assert (rejoined.role, rejoined.caught_up) == ("Secondary", True)
