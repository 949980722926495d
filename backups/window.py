"""A tenant's restore window across its lineage of databases.

After an in-place restore the live database is a new database: its own earliest restore point
is when it was restored, but the times before it stay restorable from the kept pre-restore
database (renamed `<name>-pre-restore-<stamp>`), and before that from an older kept one. The
window a person sees is the whole of it: from the earliest point of the oldest kept database to
the newest point, in parts that each say which database they come from. A part ends where the
next database took over; a part that would start after its end is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from portal.azure import sql


@dataclass(frozen=True)
class WindowPart:
    database_id: str
    database_name: str
    earliest: datetime
    latest: datetime

    def covers(self, moment: datetime) -> bool:
        return self.earliest <= moment <= self.latest

    def as_json(self) -> dict[str, str]:
        return {
            "database_id": self.database_id,
            "database_name": self.database_name,
            "earliest": self.earliest.isoformat(),
            "latest": self.latest.isoformat(),
        }


def pre_restore_prefix(database_name: str) -> str:
    return f"{database_name}-pre-restore-".lower()


def kept_databases(database_name: str, databases: list[sql.DatabaseInfo]) -> list[sql.DatabaseInfo]:
    """The kept pre-restore databases of the tenant, oldest lineage first."""
    prefix = pre_restore_prefix(database_name)
    kept = [
        d
        for d in databases
        if d.name.lower().startswith(prefix) and d.earliest_restore_date is not None
    ]
    return sorted(kept, key=lambda d: (d.creation_date or d.earliest_restore_date, d.name))


def lineage_parts(
    *, live: sql.DatabaseInfo, kept: list[sql.DatabaseInfo], latest: datetime
) -> list[WindowPart]:
    """The restorable parts, oldest first; each kept database's part ends when the next one
    (or the live database) was created."""
    chain = [*kept, live]
    parts: list[WindowPart] = []
    for database, successor in zip(chain, [*chain[1:], None], strict=True):
        start = database.earliest_restore_date
        if start is None:
            continue
        end = latest
        if successor is not None:
            end = min(latest, successor.creation_date or successor.earliest_restore_date or latest)
        if start < end:
            parts.append(WindowPart(database.id, database.name, start, end))
    return parts


def part_for(parts: list[WindowPart], moment: datetime) -> WindowPart | None:
    """The newest part covering `moment` (at a boundary the later database is the source)."""
    return next((p for p in reversed(parts) if p.covers(moment)), None)
