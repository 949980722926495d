"""The rule that keeps the portal from deleting a tenant's only up-to-date copy.

A database that was the tenant's live data until another copy replaced it — the Australia
Southeast copy a failover made (`fleetwise-role: failover`), or the stale home database set
aside before the tenant was brought home (`pre-failover`) — is deleted only when the copy the
catalogue says the tenant runs on now is another database, Online and primary — no
`secondaryType`, and Primary (or unlinked) in its replication links: a geo-secondary is seconds
behind and read-only, not "a newer healthy copy". The rule is read from the
catalogue and Azure when the deletion runs, not when it was requested: an approval given hours
earlier must not delete what has since become the only copy.

It lives here, where the approval-gated deletion deletes, and knows nothing about how the
tenant moved: the role tag says the copy was superseded, the catalogue says by what.
"""

from __future__ import annotations

from portal.azure import replication, sql
from portal.azure.errors import AzureNotFoundError
from portal.resource_ids import name_of, same
from tenants.models import Tenant
from tenants.selectors import active_copy

# Tags (fleetwise-role) of copies superseded by a newer one: no keep-until date, deleted only
# while the newer copy is healthy.
SUPERSEDED_ROLES = ("failover", "pre-failover")


def newer_copy_refusal(*, tenant: Tenant, database: sql.DatabaseInfo) -> str | None:
    """Why `database` may not be deleted now (its replacement is not healthy), or None."""
    active = active_copy(tenant)
    keep = f"{database.name} was not deleted"
    if same(active.database_id, database.id):
        return (
            f"{keep}: it is the copy {tenant.slug} runs on now (the catalogue says so), "
            "so it may hold the only up-to-date data."
        )
    try:
        newer = sql.database_get(active.database_id)
    except AzureNotFoundError:
        return f"{keep}: the copy {tenant.slug} runs on now, {active.database_id}, was not found."
    if newer.status != "Online":
        return (
            f"{keep}: the copy {tenant.slug} runs on now, {newer.name} on "
            f"{name_of(newer.server_id)}, is {newer.status}, not Online."
        )
    if newer.secondary_type or any(
        link.role != "Primary" for link in replication.replication_links(newer.id)
    ):
        return (
            f"{keep}: the copy {tenant.slug} runs on now, {newer.name} on "
            f"{name_of(newer.server_id)}, is a geo-secondary, not the primary."
        )
    return None
