"""keys.rules: until when backups may need a TDE key version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from keys.rules import LtrBackupTaken, VersionUse, backup_needs, retirement_refusal

T0 = datetime(2026, 1, 1, tzinfo=UTC)
OLD, NEW = "https://kv/keys/tde-a/" + "a" * 32, "https://kv/keys/tde-a/" + "b" * 32


def _uses() -> list[VersionUse]:
    return [
        VersionUse(OLD, T0, T0 + timedelta(days=100)),
        VersionUse(NEW, T0 + timedelta(days=100), None),
    ]


def test_the_version_in_use_is_always_needed():
    needs = backup_needs(uses=_uses(), pitr_retention_days=7, geo_redundant=False)

    assert needs[NEW].in_use
    refusal = retirement_refusal(needs[NEW], action="disable", now=T0 + timedelta(days=500))
    assert refusal is not None and "protector in use" in refusal


def test_a_retired_version_is_needed_for_the_pitr_window_plus_a_full_backup_interval():
    needs = backup_needs(uses=_uses(), pitr_retention_days=7, geo_redundant=False)

    assert needs[OLD].needed_until == T0 + timedelta(days=100 + 7 + 7)


def test_geo_redundant_backups_add_the_geo_copy_lag():
    needs = backup_needs(uses=_uses(), pitr_retention_days=7, geo_redundant=True)

    assert needs[OLD].needed_until == T0 + timedelta(days=114, hours=1)


def test_an_ltr_backup_taken_while_a_version_was_in_use_keeps_it_until_the_backup_expires():
    taken = T0 + timedelta(days=50)
    needs = backup_needs(
        uses=_uses(),
        pitr_retention_days=7,
        geo_redundant=True,
        ltr_backups=[LtrBackupTaken(taken, taken + timedelta(days=365))],
    )

    assert needs[OLD].needed_until == taken + timedelta(days=365)
    refusal = retirement_refusal(needs[OLD], action="disable", now=T0 + timedelta(days=200))
    assert refusal is not None
    assert "until 2027-02-20" in refusal and "long-term backup of 2026-02-20" in refusal


def test_an_ltr_backup_from_another_versions_time_does_not_hold_this_one():
    taken = T0 + timedelta(days=150)
    needs = backup_needs(
        uses=_uses(),
        pitr_retention_days=7,
        geo_redundant=False,
        ltr_backups=[LtrBackupTaken(taken, taken + timedelta(days=365))],
    )

    assert needs[OLD].needed_until == T0 + timedelta(days=114)


def test_a_version_no_backup_needs_any_more_may_be_disabled():
    needs = backup_needs(uses=_uses(), pitr_retention_days=7, geo_redundant=False)

    assert retirement_refusal(needs[OLD], action="disable", now=T0 + timedelta(days=115)) is None
    assert retirement_refusal(None, action="delete", now=T0) is None


def test_an_expiry_date_inside_the_need_is_refused_even_if_today_is_not():
    needs = backup_needs(uses=_uses(), pitr_retention_days=7, geo_redundant=False)

    refusal = retirement_refusal(
        needs[OLD],
        action="expire",
        now=T0 + timedelta(days=101),
        effective=T0 + timedelta(days=110),
    )
    assert refusal is not None and "until 2026-04-25" in refusal


def test_many_long_term_backups_are_summed_up_as_a_range_not_listed():
    since = datetime(2025, 1, 1, tzinfo=UTC)
    weekly = [
        LtrBackupTaken(taken=since + timedelta(weeks=n), expires=since + timedelta(weeks=n + 52))
        for n in range(52)
    ]
    needs = backup_needs(
        uses=[VersionUse(kid="v1", since=since, until=since + timedelta(weeks=60))],
        pitr_retention_days=7,
        geo_redundant=False,
        ltr_backups=weekly,
    )

    reasons = needs["v1"].reasons
    assert (
        "52 long-term backups taken 2025-01-01 to 2025-12-24 (the last kept until 2026-12-23)"
        in reasons
    )
    assert len(reasons) == 2  # and point-in-time backups
