"""Readiness rules: pure functions of what was read, each gap said in words.

A tenant is ready for a failover to Australia Southeast when all of these hold:
- a geo-replicated backup exists and is recent (it is the RPO the tenant would get now);
- its catalogue names a paired server, and one of that server's elastic pools has room for
  its database (pools are shared, so room is planned across every tenant paired with it);
- a standby site exists in Australia Southeast (stopped until used), or the primary site's
  configuration is recorded so that a failover can create one;
- its TDE key is usable from the paired server (the Key Vault key version is a server key
  there; a service-managed key needs nothing).

A tenant whose database already has a geo-secondary on the paired server is ready by another
route: a failover fails its replication link over (seconds of data, not an hour). The secondary
already holds the data, its place (its own pool) and the key material Azure required to create
it, so neither a geo backup nor pool room nor the key is needed; the standby site still is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# Azure's geo-replicated backups lag the primary by up to about an hour; twice that means
# replication of backups has stalled and the promised RPO no longer holds.
RPO_LIMIT = timedelta(hours=2)
GB = 1024**3


@dataclass(frozen=True)
class PoolRoom:
    id: str
    name: str
    state: str
    free_bytes: int


@dataclass(frozen=True)
class ReadinessFacts:
    slug: str
    tier: int
    paired_server: str
    geo_backup_at: datetime | None
    database_bytes: int
    pool: PoolRoom | None
    paired_pools: int
    most_free_bytes: int
    standby_site_id: str
    standby_state: str
    # None: the key could not be checked (read_errors says why); "" when usable.
    key_gap: str | None
    key_note: str
    read_errors: tuple[str, ...] = ()
    # The database's own (database-level) protector and the identities that reach it; empty
    # when the database uses its server's key.
    key_uri: str = ""
    key_identity_ids: tuple[str, ...] = ()
    # The database's geo-secondary on the paired server and its pool ("" when single or none).
    geo_secondary_id: str = ""
    geo_secondary_pool_id: str = ""
    # Without a standby site: how to build one from the primary's configuration
    # (dr.standby.StandbyRecipe as JSON), recorded while the primary answers.
    standby_recipe: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Assessment:
    ready: bool
    gaps: list[str] = field(default_factory=list)


def _gb(size: int) -> str:
    return f"{size / GB:.1f} GB"


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


def backup_gap(facts: ReadinessFacts, now: datetime) -> str:
    if facts.geo_backup_at is None:
        return "No geo-replicated backup is listed for the database (is its backup storage geo-redundant?)."
    age = now - facts.geo_backup_at
    if age > RPO_LIMIT:
        return f"The newest geo-replicated backup is {_ago(age)} old (more than {_ago(RPO_LIMIT)})."
    return ""


def pool_gap(facts: ReadinessFacts) -> str:
    if not facts.paired_server:
        return "The catalogue names no paired SQL server in Australia Southeast."
    if facts.pool is not None:
        return ""
    if facts.paired_pools == 0:
        return f"The paired server {facts.paired_server} has no elastic pool to restore into."
    return (
        f"No elastic pool on {facts.paired_server} has room for the database "
        f"({_gb(facts.database_bytes)} needed; the roomiest pool has {_gb(facts.most_free_bytes)} "
        "free before the tenants ahead of it in failover order are placed)."
    )


def standby_gap(facts: ReadinessFacts) -> str:
    if not facts.standby_site_id and not facts.standby_recipe:
        return (
            "No standby App Service site in Australia Southeast: create a stopped one from the "
            "primary site's configuration."
        )
    return ""


def assess(facts: ReadinessFacts, now: datetime) -> Assessment:
    gaps = [f"Could not read: {error}" for error in facts.read_errors]
    if facts.geo_secondary_id:
        # The replication-link route: the secondary stands in for backup, pool and key.
        gaps.append(standby_gap(facts))
        return Assessment(ready=not any(gaps), gaps=[gap for gap in gaps if gap])
    gaps += [backup_gap(facts, now), pool_gap(facts), standby_gap(facts)]
    if facts.key_gap:
        gaps.append(facts.key_gap)
    gaps = [gap for gap in gaps if gap]
    return Assessment(ready=not gaps, gaps=gaps)


@dataclass(frozen=True)
class Unavailable:
    since: datetime
    reason: str


def unavailable(
    facts: ReadinessFacts, previous_since: datetime | None, now: datetime
) -> Unavailable | None:
    """Whether this reading failed, dated from the first failure since the last good reading
    (a regional outage keeps failing run after run; "since" must not move with each run)."""
    if not facts.read_errors:
        return None
    return Unavailable(since=previous_since or now, reason="; ".join(facts.read_errors)[:500])


@dataclass(frozen=True)
class Claim:
    """A database that will need room in the paired server's pools, in failover order."""

    slug: str
    tier: int
    database_bytes: int


def plan_pools(claims: list[Claim], pools: list[PoolRoom]) -> dict[str, PoolRoom | None]:
    """Place each database (tier 1 first, then largest first) into the Ready pool with room for
    it that has the fewest databases planned so far (then the most room); a database that fits
    nowhere gets None. The same order a failover uses, so a tier-1 tenant is never shown ready
    on room a tier-3 tenant would have taken.

    Spread, not packed into the roomiest pool: Azure restores at most 4 databases at once into
    one pool, so a failover of a server's tenants planned into one pool would restore them 4 at
    a time while its other pools stood idle (and a pool sized like its primary twin would take
    several pools' databases)."""
    room = {pool.id: pool.free_bytes for pool in pools if pool.state in ("Ready", "")}
    planned = dict.fromkeys(room, 0)
    by_id = {pool.id: pool for pool in pools}
    placed: dict[str, PoolRoom | None] = {}
    for claim in sorted(claims, key=lambda c: (c.tier, -c.database_bytes, c.slug)):
        fits = [pid for pid in room if room[pid] >= claim.database_bytes]
        if not fits:
            placed[claim.slug] = None
            continue
        best = min(fits, key=lambda pid: (planned[pid], -room[pid]))
        room[best] -= claim.database_bytes
        planned[best] += 1
        placed[claim.slug] = by_id[best]
    return placed


def most_free(pools: list[PoolRoom]) -> int:
    return max((p.free_bytes for p in pools), default=0)
