"""Rules for restore times: formats, daylight saving in Australia/Sydney, and the window."""

# Naive datetimes here are wall-clock readings on purpose.
# ruff: noqa: DTZ001

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backups.restore_time import (
    RestoreTimeError,
    RestoreWindow,
    check_in_window,
    describe,
    parse_restore_time,
    preview,
    preview_of,
    resolve_local,
)

SYDNEY = ZoneInfo("Australia/Sydney")
NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)
WINDOW = RestoreWindow(
    earliest=NOW - timedelta(days=7), latest=NOW - timedelta(minutes=10), checked_at=NOW
)


def test_a_local_time_becomes_utc():
    # 29 November is daylight saving time in Sydney (UTC+11).
    assert parse_restore_time("2026-11-29 13:30", zone=SYDNEY, in_utc=False) == datetime(
        2026, 11, 29, 2, 30, tzinfo=UTC
    )


def test_the_browser_datetime_local_format_is_accepted():
    assert parse_restore_time("2026-11-29T13:30", zone=SYDNEY, in_utc=False) == datetime(
        2026, 11, 29, 2, 30, tzinfo=UTC
    )


def test_a_utc_time_stays_utc():
    assert parse_restore_time("2026-11-29 02:30:15", zone=SYDNEY, in_utc=True) == datetime(
        2026, 11, 29, 2, 30, 15, tzinfo=UTC
    )


def test_an_explicit_offset_wins_over_the_chosen_zone():
    assert parse_restore_time("2026-11-29T02:30Z", zone=SYDNEY, in_utc=False) == datetime(
        2026, 11, 29, 2, 30, tzinfo=UTC
    )
    assert parse_restore_time("2026-11-29 13:30+11:00", zone=SYDNEY, in_utc=True) == datetime(
        2026, 11, 29, 2, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text",
    [
        "02/12/2026 05:54",
        "2/12/2026 5:54",
        "02/12/2026 05:54:00",
        "2026-12-02 05:54",
        "2026-12-02T05:54",
        "  02/12/2026   05:54 ",
    ],
)
def test_day_month_year_and_iso_read_the_same_24_hour_time(text):
    # 2 December is daylight saving time in Sydney (UTC+11).
    assert parse_restore_time(text, zone=SYDNEY, in_utc=False) == datetime(
        2026, 12, 1, 18, 54, tzinfo=UTC
    )


def test_a_date_is_read_day_first_never_month_first():
    # 03/04 is the 3rd of April (daylight saving until 5 April: UTC+11), not the 4th of March.
    assert parse_restore_time("03/04/2026 10:00", zone=SYDNEY, in_utc=False) == datetime(
        2026, 4, 2, 23, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "11/29/2026 13:30",  # month first: there is no 29th month
        "2026-11-29 1:30 PM",
        "29/11/26 13:30",
        "2026-13-01 00:00",
        "2026-11-29 25:00",
    ],
)
def test_unreadable_input_is_refused_with_the_accepted_formats(text):
    with pytest.raises(RestoreTimeError) as excinfo:
        parse_restore_time(text, zone=SYDNEY, in_utc=False)
    message = excinfo.value.message
    assert "DD/MM/YYYY HH:MM or YYYY-MM-DD HH:MM" in message or "Enter the time" in message


def test_a_skipped_time_typed_day_first_is_refused_like_an_iso_one():
    with pytest.raises(RestoreTimeError) as excinfo:
        parse_restore_time("04/10/2026 02:00", zone=SYDNEY, in_utc=False)
    assert "does not exist in Australia/Sydney" in excinfo.value.message
    assert "2026-10-03 15:00:00 UTC or 2026-10-03 16:00:00 UTC" in excinfo.value.message


def test_a_repeated_time_typed_day_first_is_refused_at_both_edges_of_the_hour():
    for text in ("05/04/2026 02:00", "05/04/2026 02:59:59"):
        with pytest.raises(RestoreTimeError) as excinfo:
            parse_restore_time(text, zone=SYDNEY, in_utc=False)
        assert "happened twice in Australia/Sydney" in excinfo.value.message
    # 03:00 exists once (AEST, after the change); 01:59 once (AEDT, before it).
    assert parse_restore_time("05/04/2026 03:00", zone=SYDNEY, in_utc=False) == datetime(
        2026, 4, 4, 17, 0, tzinfo=UTC
    )
    assert parse_restore_time("05/04/2026 01:59", zone=SYDNEY, in_utc=False) == datetime(
        2026, 4, 4, 14, 59, tzinfo=UTC
    )


def test_a_utc_time_is_never_ambiguous_even_in_the_repeated_local_hour():
    assert parse_restore_time("04/04/2026 15:30", zone=SYDNEY, in_utc=True) == datetime(
        2026, 4, 4, 15, 30, tzinfo=UTC
    )


def test_the_preview_reads_local_then_utc_as_the_person_will_see_it():
    moment = datetime(2026, 12, 1, 18, 54, tzinfo=UTC)
    assert preview(moment, SYDNEY) == "= 2026-12-02 05:54 AEDT = 2026-12-01 18:54 UTC"
    assert preview(moment.replace(second=7), SYDNEY) == (
        "= 2026-12-02 05:54:07 AEDT = 2026-12-01 18:54:07 UTC"
    )
    winter = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    assert preview(winter, SYDNEY) == "= 2026-07-01 10:00 AEST = 2026-07-01 00:00 UTC"


def test_the_preview_of_what_is_typed_says_what_it_means_or_why_not():
    assert preview_of("02/12/2026 05:54", zone=SYDNEY, in_utc=False) == (
        "= 2026-12-02 05:54 AEDT = 2026-12-01 18:54 UTC",
        "",
    )
    assert preview_of("01/12/2026 18:54", zone=SYDNEY, in_utc=True) == (
        "= 2026-12-02 05:54 AEDT = 2026-12-01 18:54 UTC",
        "",
    )
    assert preview_of("", zone=SYDNEY, in_utc=False) == ("", "")
    shown, refused = preview_of("04/10/2026 02:30", zone=SYDNEY, in_utc=False)
    assert shown == "" and "does not exist in Australia/Sydney" in refused


def test_a_time_skipped_when_daylight_saving_began_is_refused_with_both_utc_readings():
    # Sunday 4 October 2026: 02:00 AEST jumped to 03:00 AEDT.
    with pytest.raises(RestoreTimeError) as excinfo:
        parse_restore_time("2026-10-04 02:30", zone=SYDNEY, in_utc=False)
    error = excinfo.value
    assert "does not exist in Australia/Sydney" in error.message
    assert error.readings == (
        datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
        datetime(2026, 10, 3, 16, 30, tzinfo=UTC),
    )
    assert "2026-10-03 15:30:00 UTC or 2026-10-03 16:30:00 UTC" in error.message


def test_a_time_repeated_when_daylight_saving_ended_is_refused_with_both_utc_readings():
    # Sunday 5 April 2026: 03:00 AEDT went back to 02:00 AEST, so 02:30 happened twice.
    with pytest.raises(RestoreTimeError) as excinfo:
        parse_restore_time("2026-04-05 02:30", zone=SYDNEY, in_utc=False)
    error = excinfo.value
    assert "happened twice in Australia/Sydney" in error.message
    assert error.readings == (
        datetime(2026, 4, 4, 15, 30, tzinfo=UTC),
        datetime(2026, 4, 4, 16, 30, tzinfo=UTC),
    )


def test_times_just_outside_the_daylight_saving_changes_are_fine():
    assert resolve_local(datetime(2026, 10, 4, 1, 59), SYDNEY) == datetime(
        2026, 10, 3, 15, 59, tzinfo=UTC
    )
    assert resolve_local(datetime(2026, 10, 4, 3, 0), SYDNEY) == datetime(
        2026, 10, 3, 16, 0, tzinfo=UTC
    )
    assert resolve_local(datetime(2026, 4, 5, 1, 59), SYDNEY) == datetime(
        2026, 4, 4, 14, 59, tzinfo=UTC
    )
    assert resolve_local(datetime(2026, 4, 5, 3, 0), SYDNEY) == datetime(
        2026, 4, 4, 17, 0, tzinfo=UTC
    )


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)))
def test_any_accepted_local_time_round_trips_to_the_same_wall_clock(naive):
    try:
        instant = resolve_local(naive, SYDNEY)
    except RestoreTimeError as error:
        assert len(error.readings) == 2
        return
    assert instant.astimezone(SYDNEY).replace(tzinfo=None) == naive


def test_the_window_edges_are_inclusive():
    check_in_window(WINDOW.earliest, WINDOW, now=NOW, zone=SYDNEY)
    check_in_window(WINDOW.latest, WINDOW, now=NOW, zone=SYDNEY)


def test_a_time_before_the_earliest_restore_point_is_refused_with_the_window():
    with pytest.raises(RestoreTimeError) as excinfo:
        check_in_window(WINDOW.earliest - timedelta(seconds=1), WINDOW, now=NOW, zone=SYDNEY)
    message = excinfo.value.message
    assert "before the earliest restore point" in message
    assert describe(WINDOW.earliest, SYDNEY) in message
    assert "long-term backup" in message


def test_a_future_time_is_refused():
    with pytest.raises(RestoreTimeError, match="is in the future"):
        check_in_window(NOW + timedelta(minutes=1), WINDOW, now=NOW, zone=SYDNEY)


def test_the_last_minutes_azure_cannot_restore_yet_are_refused():
    with pytest.raises(RestoreTimeError, match="within the last 10 minutes"):
        check_in_window(NOW - timedelta(minutes=5), WINDOW, now=NOW, zone=SYDNEY)


def test_times_are_described_locally_with_utc_beside():
    assert (
        describe(datetime(2026, 11, 29, 2, 30, tzinfo=UTC), SYDNEY)
        == "2026-11-29 13:30:00 AEDT (2026-11-29 02:30:00 UTC)"
    )


@pytest.mark.parametrize(
    ("text", "in_utc"),
    [
        ("0001-01-01 00:00", False),
        ("0001-01-01T00:00+10:00", False),
        ("9999-12-31 23:59", True),
        ("9999-12-31T23:59-05:00", False),
    ],
)
def test_a_time_at_the_edge_of_the_calendar_is_refused_in_words(text, in_utc):
    with pytest.raises(RestoreTimeError, match="edge of the calendar"):
        parse_restore_time(text, zone=SYDNEY, in_utc=in_utc)


@pytest.mark.parametrize(
    ("text", "in_utc", "refusal"),
    [
        ("0001-01-01 00:00", True, "before the earliest restore point"),
        ("9999-12-31 23:59", False, "is in the future"),
        ("9999-12-31T23:59Z", False, "edge of the calendar"),
    ],
)
def test_times_near_the_edges_of_the_calendar_end_in_a_refusal(text, in_utc, refusal):
    with pytest.raises(RestoreTimeError, match=refusal):
        moment = parse_restore_time(text, zone=SYDNEY, in_utc=in_utc)
        check_in_window(moment, WINDOW, now=NOW, zone=SYDNEY)


@given(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)),
    st.sampled_from(["", "Z", "+14:00", "-12:00"]),
    st.booleans(),
)
def test_any_well_formed_time_is_either_read_or_refused_in_words(naive, offset, in_utc):
    # %Y does not pad years below 1000 on every platform.
    text = f"{naive.year:04d}-{naive:%m-%d %H:%M}{offset}"
    try:
        moment = parse_restore_time(text, zone=SYDNEY, in_utc=in_utc)
    except RestoreTimeError:
        return
    describe(moment, SYDNEY)  # every accepted time can be shown in the portal's zone
