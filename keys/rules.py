"""Which TDE key versions backups still need, and until when (pure rules, no I/O).

Backups keep the protector that was current when they were taken; rotating does not re-wrap them
(docs/azure-behaviours.md, "Key versions and backups"). A restore needs every version in use
between the backup it starts from and the point it restores to, so a version must stay enabled
and in the vault while any of these may still be restored:

- point-in-time backups: kept for the PITR retention; a restore to the earliest point also needs
  the full backup before it, and full backups are weekly, so a version retired at `until` is
  needed until `until + retention + 7 days`;
- geo-redundant copies of those backups (geo-restore) reach the paired region up to an hour late
  and are kept as long: one hour more;
- long-term retention backups taken while the version was in use: until each backup expires.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

FULL_BACKUP_INTERVAL = timedelta(days=7)
GEO_BACKUP_LAG = timedelta(hours=1)


@dataclass(frozen=True)
class VersionUse:
    """A key version was the protector from `since` until `until` (None: it still is)."""

    kid: str
    since: datetime
    until: datetime | None


@dataclass(frozen=True)
class LtrBackupTaken:
    taken: datetime
    expires: datetime


@dataclass(frozen=True)
class BackupNeed:
    """Until when backups may need a version. `in_use`: it is the protector now (needed for
    as long as it is, and then by the rules above)."""

    kid: str
    in_use: bool
    needed_until: datetime | None
    reasons: tuple[str, ...]

    def needed_at(self, moment: datetime) -> bool:
        return self.in_use or (self.needed_until is not None and moment < self.needed_until)


def _in_use_at(use: VersionUse, moment: datetime) -> bool:
    return use.since <= moment and (use.until is None or moment < use.until)


def _ltr_reason(taken: list[LtrBackupTaken]) -> str:
    """One backup by its date; many as a range (a weekly policy keeps 52 of them a year)."""
    last = max(taken, key=lambda b: b.expires)
    if len(taken) == 1:
        return f"the long-term backup of {last.taken:%Y-%m-%d} (kept until {last.expires:%Y-%m-%d})"
    first = min(b.taken for b in taken)
    newest = max(b.taken for b in taken)
    return (
        f"{len(taken)} long-term backups taken {first:%Y-%m-%d} to {newest:%Y-%m-%d} "
        f"(the last kept until {last.expires:%Y-%m-%d})"
    )


def backup_needs(
    *,
    uses: Iterable[VersionUse],
    pitr_retention_days: int,
    geo_redundant: bool,
    ltr_backups: Iterable[LtrBackupTaken] = (),
) -> dict[str, BackupNeed]:
    """For each version that was ever the protector: until when a backup may need it."""
    ltr = list(ltr_backups)
    needs: dict[str, BackupNeed] = {}
    for use in uses:
        reasons: list[str] = []
        ends: list[datetime] = []
        if use.until is not None:
            pitr_end = use.until + timedelta(days=pitr_retention_days) + FULL_BACKUP_INTERVAL
            ends.append(pitr_end)
            reasons.append(f"point-in-time backups (retention {pitr_retention_days} days)")
            if geo_redundant:
                ends.append(pitr_end + GEO_BACKUP_LAG)
                reasons.append("geo-redundant backup copies")
        taken = [b for b in ltr if _in_use_at(use, b.taken)]
        if taken:
            ends += [b.expires for b in taken]
            reasons.append(_ltr_reason(taken))
        earlier = needs.get(use.kid)
        if earlier is not None:  # the same version was the protector twice
            ends += [earlier.needed_until] if earlier.needed_until else []
            reasons = [*earlier.reasons, *reasons]
        needs[use.kid] = BackupNeed(
            kid=use.kid,
            in_use=use.until is None or bool(earlier and earlier.in_use),
            needed_until=max(ends) if ends else None,
            reasons=tuple(dict.fromkeys(reasons)),
        )
    return needs


def retirement_refusal(
    need: BackupNeed | None, *, action: str, now: datetime, effective: datetime | None = None
) -> str | None:
    """Why a version may not be disabled, expired or deleted (`action`) at `effective` (default
    now), or None when nothing needs it then."""
    moment = effective or now
    if need is None:
        return None
    version = need.kid.rstrip("/").rsplit("/", 1)[-1]
    if need.in_use:
        return f"Cannot {action} key version {version}: it is the protector in use now."
    if need.needed_until is not None and moment < need.needed_until:
        return (
            f"Cannot {action} key version {version}: backups may need it until "
            f"{need.needed_until:%Y-%m-%d %H:%M} UTC ({'; '.join(need.reasons)})."
        )
    return None
