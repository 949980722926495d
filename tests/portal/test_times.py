"""The portal's one way of showing times: PORTAL_TIME_ZONE with UTC beside it, everywhere."""

from __future__ import annotations

from datetime import UTC, datetime

from django.template import Context, Template

from backups.restore_time import describe
from portal import times

WINTER = datetime(2026, 7, 1, 2, 30, tzinfo=UTC)
SUMMER = datetime(2026, 1, 1, 2, 30, tzinfo=UTC)


def test_a_time_reads_in_the_portal_zone_with_utc_beside_it_across_daylight_saving():
    assert times.local_and_utc(WINTER) == "2026-07-01 12:30:00 AEST (2026-07-01 02:30:00 UTC)"
    assert times.local_and_utc(SUMMER) == "2026-01-01 13:30:00 AEDT (2026-01-01 02:30:00 UTC)"


def test_a_changed_time_zone_setting_applies_at_once(settings):
    settings.PORTAL_TIME_ZONE = "Europe/London"
    assert times.portal_zone().key == "Europe/London"
    assert times.local_and_utc(WINTER) == "2026-07-01 03:30:00 BST (2026-07-01 02:30:00 UTC)"
    assert times.local_clock(WINTER) == "03:30"


def test_the_restore_rules_describe_times_the_same_way():
    zone = times.portal_zone()
    assert describe(SUMMER, zone) == times.local_and_utc(SUMMER)


def test_the_template_filters_take_datetimes_iso_strings_and_nothing():
    template = Template(
        "{% load portal_time %}{{ a|local_and_utc }}|{{ b|local_and_utc }}|{{ c|local_and_utc }}"
        "|{{ a|local_clock }}"
    )
    rendered = template.render(Context({"a": WINTER, "b": SUMMER.isoformat(), "c": None}))
    assert rendered == (
        "2026-07-01 12:30:00 AEST (2026-07-01 02:30:00 UTC)"
        "|2026-01-01 13:30:00 AEDT (2026-01-01 02:30:00 UTC)|—|12:30"
    )
