"""Readiness rules, each gap both ways, and the pool plan's order (pure: no database)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from dr.readiness import GB, Claim, PoolRoom, ReadinessFacts, assess, plan_pools

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
POOL = PoolRoom("/pools/p1", "p1", "Ready", 100 * GB)
READY = ReadinessFacts(
    slug="acme", tier=1, paired_server="sql-ase-01", geo_backup_at=NOW - timedelta(minutes=50),
    database_bytes=5 * GB, pool=POOL, paired_pools=1, most_free_bytes=100 * GB,
    standby_site_id="/sites/app-acme-ase", standby_state="Stopped", key_gap="",
    key_note="Key Vault key is a server key on the paired server.",
)  # fmt: skip


def test_a_tenant_with_everything_in_place_is_ready_with_no_gaps():
    verdict = assess(READY, NOW)
    assert verdict.ready and verdict.gaps == []


def test_no_geo_backup_is_a_gap_that_asks_about_geo_redundant_storage():
    verdict = assess(replace(READY, geo_backup_at=None), NOW)
    assert not verdict.ready
    assert verdict.gaps == [
        "No geo-replicated backup is listed for the database (is its backup storage geo-redundant?)."
    ]


def test_a_geo_backup_older_than_two_hours_is_a_gap_with_its_age():
    verdict = assess(replace(READY, geo_backup_at=NOW - timedelta(hours=3, minutes=5)), NOW)
    assert verdict.gaps == [
        "The newest geo-replicated backup is 3 h 5 min old (more than 2 h 0 min)."
    ]
    assert assess(replace(READY, geo_backup_at=NOW - timedelta(minutes=119)), NOW).ready


def test_no_paired_server_in_the_catalogue_is_a_gap():
    verdict = assess(replace(READY, paired_server="", pool=None, paired_pools=0), NOW)
    assert verdict.gaps == ["The catalogue names no paired SQL server in Australia Southeast."]


def test_a_paired_server_without_pools_is_a_gap_naming_the_server():
    verdict = assess(replace(READY, pool=None, paired_pools=0), NOW)
    assert verdict.gaps == ["The paired server sql-ase-01 has no elastic pool to restore into."]


def test_no_room_in_any_pool_says_what_is_needed_and_what_is_free():
    verdict = assess(replace(READY, pool=None, most_free_bytes=2 * GB), NOW)
    assert len(verdict.gaps) == 1
    assert (
        "No elastic pool on sql-ase-01 has room for the database (5.0 GB needed" in verdict.gaps[0]
    )
    assert "2.0 GB" in verdict.gaps[0]


def test_no_standby_site_is_a_gap_saying_how_to_make_one():
    verdict = assess(replace(READY, standby_site_id="", standby_state=""), NOW)
    assert verdict.gaps == [
        "No standby App Service site in Australia Southeast: create a stopped one from the "
        "primary site's configuration."
    ]


def test_a_recorded_recipe_stands_in_for_a_missing_standby_site():
    recipe = {"site_id": "/sites/app-acme-ase", "recorded_at": NOW.isoformat()}
    verdict = assess(
        replace(READY, standby_site_id="", standby_state="", standby_recipe=recipe), NOW
    )
    assert verdict.ready and verdict.gaps == []


def test_a_key_missing_on_the_paired_server_is_a_gap_and_read_errors_are_gaps_too():
    verdict = assess(
        replace(
            READY, key_gap="The TDE key version v_k_1 is not a server key", read_errors=("x: 503",)
        ),
        NOW,
    )
    assert verdict.gaps == [
        "Could not read: x: 503",
        "The TDE key version v_k_1 is not a server key",
    ]


def test_an_unknown_key_state_alone_is_not_reported_as_a_key_gap():
    # None means "could not check": the read error that caused it is the gap.
    assert assess(replace(READY, key_gap=None), NOW).ready


def test_the_pool_plan_places_tier_one_first_and_refuses_what_does_not_fit():
    pools = [PoolRoom("/a", "a", "Ready", 10 * GB), PoolRoom("/b", "b", "Ready", 6 * GB)]
    claims = [Claim("t3", 3, 6 * GB), Claim("t1", 1, 9 * GB), Claim("t2", 2, 6 * GB)]
    placed = plan_pools(claims, pools)
    assert placed["t1"] is not None and placed["t1"].id == "/a"
    assert placed["t2"] is not None and placed["t2"].id == "/b"
    assert placed["t3"] is None


def test_the_pool_plan_spreads_a_servers_databases_over_its_pools_instead_of_filling_the_roomiest():
    pools = [
        PoolRoom("/big", "big", "Ready", 500 * GB),
        PoolRoom("/small", "small", "Ready", 50 * GB),
    ]
    claims = [Claim(f"t{n}", 1 + n % 3, GB) for n in range(8)]
    placed = plan_pools(claims, pools)
    by_pool = Counter(p.id for p in placed.values() if p is not None)
    assert by_pool == {"/big": 4, "/small": 4}


def test_the_pool_plan_skips_pools_that_are_not_ready():
    pools = [PoolRoom("/a", "a", "Creating", 100 * GB)]
    assert plan_pools([Claim("t1", 1, GB)], pools) == {"t1": None}


# -- the replication-link route ----------------------------------------------------------------------

SECONDARY = (
    "/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/sql-ase-01/databases/db-acme"
)


def test_a_geo_secondary_makes_a_tenant_ready_without_geo_backup_pool_room_or_key():
    # Locally redundant backups (no geo backup), no pool planned, and a key gap: all moot
    # when the secondary already holds the data, its place and the key material.
    facts = replace(
        READY,
        geo_backup_at=None,
        pool=None,
        key_gap="The TDE key version k is not a server key on the paired server.",
        geo_secondary_id=SECONDARY,
    )
    verdict = assess(facts, NOW)
    assert verdict.ready and verdict.gaps == []


def test_without_a_geo_secondary_locally_redundant_backups_stay_a_gap():
    verdict = assess(replace(READY, geo_backup_at=None, geo_secondary_id=""), NOW)
    assert not verdict.ready
    assert verdict.gaps[0].startswith("No geo-replicated backup")


def test_a_geo_secondary_still_needs_a_standby_site():
    verdict = assess(replace(READY, geo_secondary_id=SECONDARY, standby_site_id=""), NOW)
    assert not verdict.ready
    assert verdict.gaps[0].startswith("No standby App Service site")


def test_a_geo_secondary_does_not_hide_a_read_error():
    verdict = assess(replace(READY, geo_secondary_id=SECONDARY, read_errors=("503",)), NOW)
    assert verdict.gaps == ["Could not read: 503"]
