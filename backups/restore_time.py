"""Rules for the time a tenant is restored to: parsing what a person typed, daylight-saving
traps, and the restore window. Pure functions: no database, no Azure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from portal.times import local_and_utc

# Day-month-year as people here write dates, and ISO; always 24-hour. "02/12/2026" is the
# 2nd of December: a US-style month-first reading is never tried, so nothing is guessed.
_FORMATS = (
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
)
FORMATS_SHOWN = "DD/MM/YYYY HH:MM or YYYY-MM-DD HH:MM, 24-hour, seconds optional"
_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


class RestoreTimeError(ValueError):
    """The time cannot be used; `message` says why in words, `readings` offers UTC choices."""

    def __init__(self, message: str, readings: tuple[datetime, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.readings = readings


@dataclass(frozen=True)
class RestoreWindow:
    """Times (UTC) a tenant's database can be restored to, as Azure reported at `checked_at`."""

    earliest: datetime
    latest: datetime
    checked_at: datetime


def describe(moment: datetime, zone: ZoneInfo) -> str:
    """'2026-04-05 02:30:00 AEST (2026-04-04 16:30:00 UTC)' (portal/times.py says how)."""
    return local_and_utc(moment, zone)


def _parse_naive(text: str) -> datetime:
    cleaned = " ".join(text.strip().replace("T", " ").split())
    for fmt in _FORMATS:
        try:
            return datetime.strptime(cleaned, fmt)  # noqa: DTZ007 - zone applied by the caller
        except ValueError:
            continue
    raise RestoreTimeError(
        f"“{text}” is not a time this form understands: use {FORMATS_SHOWN} "
        "(for example 02/12/2026 05:54 or 2026-12-02 05:54)."
    )


def resolve_local(naive: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time in `zone`, refusing times that a daylight-saving
    change made ambiguous (they happened twice) or non-existent (the clock skipped them)."""
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    readings = tuple(sorted({first.astimezone(UTC), second.astimezone(UTC)}))
    choices = " or ".join(f"{r:%Y-%m-%d %H:%M:%S} UTC" for r in readings)
    wall = f"{naive:%Y-%m-%d %H:%M:%S}"
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise RestoreTimeError(
            f"{wall} does not exist in {zone.key}: the clocks skipped it when daylight saving "
            f"began. Did you mean {choices}? Enter the time in UTC to be exact.",
            readings,
        )
    raise RestoreTimeError(
        f"{wall} happened twice in {zone.key}: the clocks went back when daylight saving "
        f"ended. Did you mean {choices}? Enter the time in UTC to be exact.",
        readings,
    )


def parse_restore_time(text: str, *, zone: ZoneInfo, in_utc: bool) -> datetime:
    """What a person typed, as an aware UTC datetime. An explicit offset ('Z', '+10:00')
    wins; otherwise the time is UTC or local to `zone` as they chose."""
    text = text.strip()
    if not text:
        raise RestoreTimeError("Enter the time to restore to.")
    try:
        moment = _parse_to_utc(text, zone=zone, in_utc=in_utc)
        # Every message shows the time in the portal's zone too: it must exist there.
        moment.astimezone(zone)
    except OverflowError:
        # Year 1 or 9999 shifted by a zone's offset falls off Python's calendar.
        raise RestoreTimeError(
            f"“{text}” is at the very edge of the calendar, far outside any restore window: "
            "enter a time within the last few days."
        ) from None
    return moment


def _parse_to_utc(text: str, *, zone: ZoneInfo, in_utc: bool) -> datetime:
    if _OFFSET.search(text):
        try:
            parsed = datetime.fromisoformat(text.upper().replace("Z", "+00:00").replace(" ", "T"))
        except ValueError:
            raise RestoreTimeError(f"“{text}” is not a valid date and time.") from None
        return parsed.astimezone(UTC)
    naive = _parse_naive(text)
    return naive.replace(tzinfo=UTC) if in_utc else resolve_local(naive, zone)


def preview(moment: datetime, zone: ZoneInfo) -> str:
    """'= 2026-12-02 05:54 AEDT = 2026-12-01 18:54 UTC': what a typed time means, shown under
    the field before the form is sent (seconds only when there are some)."""
    clock = "%Y-%m-%d %H:%M" if moment.second == 0 else "%Y-%m-%d %H:%M:%S"
    local = moment.astimezone(zone)
    return f"= {local:{clock}} {local.tzname()} = {moment.astimezone(UTC):{clock}} UTC"


def preview_of(text: str, *, zone: ZoneInfo, in_utc: bool) -> tuple[str, str]:
    """(preview, refusal) for what is typed so far: one of them is empty, both when nothing is."""
    if not text.strip():
        return "", ""
    try:
        return preview(parse_restore_time(text, zone=zone, in_utc=in_utc), zone), ""
    except RestoreTimeError as error:
        return "", error.message


def check_in_window(
    moment: datetime, window: RestoreWindow, *, now: datetime, zone: ZoneInfo
) -> None:
    """Refuse times Azure cannot restore to, saying what the window is."""
    span = f"The restore window is {describe(window.earliest, zone)} to {describe(window.latest, zone)}."
    if moment > now:
        raise RestoreTimeError(f"{describe(moment, zone)} is in the future. {span}")
    if moment > window.latest:
        lag = max(1, round((now - window.latest) / timedelta(minutes=1)))
        raise RestoreTimeError(
            f"{describe(moment, zone)} is within the last {lag} minutes, which Azure cannot "
            f"restore to yet (the newest log backup is older). {span}"
        )
    if moment < window.earliest:
        raise RestoreTimeError(
            f"{describe(moment, zone)} is before the earliest restore point. {span} "
            "Older times can only come from a long-term backup."
        )
