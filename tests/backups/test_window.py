"""The restore window across a tenant's lineage of databases (pure rules, no Azure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backups.window import kept_databases, lineage_parts, part_for
from portal.azure.sql import DatabaseInfo

T0 = datetime(2026, 3, 1, tzinfo=UTC)
SERVER = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/sql-1"


def database(name: str, *, created: datetime, earliest: datetime | None) -> DatabaseInfo:
    return DatabaseInfo(
        id=f"{SERVER}/databases/{name}",
        name=name,
        server_id=SERVER,
        location="australiaeast",
        status="Online",
        elastic_pool_id=None,
        sku_name="ElasticPool",
        sku_tier="Standard",
        service_objective="ElasticPool",
        max_size_bytes=None,
        creation_date=created,
        earliest_restore_date=earliest,
        tags={},
        backup_storage_redundancy="Geo",
        secondary_type=None,
        encryption_protector=None,
    )


def test_after_an_in_place_restore_the_window_starts_at_the_kept_database_and_names_each_part():
    swapped_at = T0 + timedelta(days=5)
    live = database("db-acme", created=swapped_at, earliest=swapped_at)
    pre = database(
        "db-acme-pre-restore-20260306-000000", created=T0 - timedelta(days=90), earliest=T0
    )
    latest = T0 + timedelta(days=6)

    parts = lineage_parts(live=live, kept=kept_databases("db-acme", [live, pre]), latest=latest)

    assert [(p.database_name, p.earliest, p.latest) for p in parts] == [
        (pre.name, T0, swapped_at),
        ("db-acme", swapped_at, latest),
    ]
    assert part_for(parts, T0 + timedelta(days=1)).database_name == pre.name
    assert part_for(parts, swapped_at + timedelta(hours=1)).database_name == "db-acme"
    assert part_for(parts, T0 - timedelta(seconds=1)) is None


def test_two_in_place_restores_chain_three_databases_oldest_first():
    first_swap, second_swap = T0 + timedelta(days=2), T0 + timedelta(days=4)
    oldest = database(
        "db-acme-pre-restore-20260303-000000", created=T0 - timedelta(days=30), earliest=T0
    )
    middle = database(
        "db-acme-pre-restore-20260305-000000", created=first_swap, earliest=first_swap
    )
    live = database("db-acme", created=second_swap, earliest=second_swap)

    parts = lineage_parts(
        live=live,
        kept=kept_databases("db-acme", [middle, live, oldest]),
        latest=T0 + timedelta(days=5),
    )

    assert [p.database_name for p in parts] == [oldest.name, middle.name, "db-acme"]
    assert all(p.earliest < p.latest for p in parts)


def test_a_part_that_would_start_after_its_end_is_left_out():
    # The kept database's retention no longer reaches back before the swap.
    swapped_at = T0 + timedelta(days=1)
    pre = database(
        "db-acme-pre-restore-20260302-000000", created=T0, earliest=swapped_at + timedelta(hours=3)
    )
    live = database("db-acme", created=swapped_at, earliest=swapped_at)

    parts = lineage_parts(live=live, kept=[pre], latest=T0 + timedelta(days=2))

    assert [p.database_name for p in parts] == ["db-acme"]


def test_other_databases_and_kept_ones_without_backups_are_not_part_of_the_lineage():
    live = database("db-acme", created=T0, earliest=T0)
    others = [
        database("db-acme-restore-20260301-000000", created=T0, earliest=T0),
        database("db-acmeltd-pre-restore-20260301-000000", created=T0, earliest=T0),
        database("db-acme-pre-restore-20260302-000000", created=T0, earliest=None),
    ]

    assert kept_databases("db-acme", [live, *others]) == []
