"""Reading readiness facts: a few lists per server and subscription, never a call per tenant.

Per paired server: its pools and databases (what is already in each pool, and which are
geo-secondaries) and its server keys.
Per primary server: its databases (each one's key) and, for server-level keys, its protector.
Per subscription: its sites (the standby sites in Australia Southeast). The newest geo backup
and each database's used size come from the monitoring snapshots.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from dr.readiness import Claim, PoolRoom, ReadinessFacts, most_free, plan_pools
from dr.standby import recipe_read as standby_recipe_read
from monitoring.models import TenantHealth
from portal.azure import dr as azure_dr
from portal.azure import inventory
from portal.azure import sql as azure_sql
from portal.azure.errors import AzureError
from portal.azure.tde import server_key_name
from portal.resource_ids import name_of
from tenants.models import Tenant


@dataclass
class PairedServer:
    pools: list[PoolRoom] = field(default_factory=list)
    key_names: set[str] = field(default_factory=set)
    # Geo-secondaries on the server by name (lower): Azure names one like its primary.
    secondaries: dict[str, azure_sql.DatabaseInfo] = field(default_factory=dict)
    error: str = ""


def _paired(server_id: str) -> PairedServer:
    try:
        pools = inventory.pools_list(server_id)
        databases = azure_sql.databases_list(server_id)
        keys = azure_sql.server_keys(server_id)
    except AzureError as exc:
        return PairedServer(error=f"paired server {name_of(server_id)}: {exc}")
    used: dict[str, int] = defaultdict(int)
    for db in databases:
        if db.elastic_pool_id:
            used[db.elastic_pool_id.lower()] += db.max_size_bytes or 0
    rooms = [
        PoolRoom(
            id=p.id,
            name=p.name,
            state=p.state,
            free_bytes=max(0, (p.max_size_bytes or 0) - used[p.id.lower()]),
        )
        for p in pools
    ]
    secondaries = {db.name.lower(): db for db in databases if db.secondary_type == "Geo"}
    return PairedServer(
        pools=rooms, key_names={k.name.lower() for k in keys}, secondaries=secondaries
    )


def _primary_keys(server_id: str) -> dict[str, tuple[str, azure_sql.DatabaseInfo]] | str:
    """Database name (lower) → (the Key Vault key version protecting it, "" = service-managed;
    the database, whose own protector and identities a failover must pass on), or the error
    text."""
    try:
        databases = azure_sql.databases_list(server_id)
        protector = None
        if any(not db.encryption_protector for db in databases):
            protector = azure_sql.encryption_protector(server_id)
    except AzureError as exc:
        return f"primary server {name_of(server_id)}: {exc}"
    server_kid = protector.uri or "" if protector else ""
    return {db.name.lower(): (db.encryption_protector or server_kid, db) for db in databases}


def _key(kid: str | None, paired: PairedServer) -> tuple[str | None, str]:
    """(gap or "" or None when unknown, note) for the tenant's TDE key on the paired server."""
    if kid is None or paired.error:
        return None, ""
    if not kid:
        return "", "Service-managed key (Azure carries it to the paired region)."
    name = server_key_name(kid)
    if name.lower() in paired.key_names:
        return "", f"Key Vault key {name} is a server key on the paired server."
    return (
        f"The TDE key version {name} is not a server key on the paired server: a geo-restore "
        "there could not open the database.",
        "",
    )


def _size(health: TenantHealth | None) -> int:
    if health is None:
        return 0
    return health.db_size_bytes or health.db_max_size_bytes or 0


def readiness_facts(tenants: list[Tenant]) -> list[tuple[Tenant, ReadinessFacts]]:
    health = {h.tenant_id: h for h in TenantHealth.objects.filter(tenant__in=tenants)}
    paired = {
        key: _paired(server_id)
        for key, server_id in {
            t.geo_sql_server_id.lower(): t.geo_sql_server_id for t in tenants if t.geo_sql_server_id
        }.items()
    }
    primary = {
        key: _primary_keys(server_id)
        for key, server_id in {t.sql_server_id.lower(): t.sql_server_id for t in tenants}.items()
    }
    standby: dict[str, azure_dr.StandbySite] = {}
    site_errors: dict[str, str] = {}
    for sub in {t.subscription_id.lower(): t.subscription_id for t in tenants}.values():
        try:
            standby.update({s.tenant_slug: s for s in azure_dr.standby_sites(sub)})
        except AzureError as exc:
            site_errors[sub.lower()] = f"standby sites in subscription {sub}: {exc}"

    placements: dict[str, PoolRoom | None] = {}
    by_pair: dict[str, list[Tenant]] = defaultdict(list)
    for tenant in tenants:
        by_pair[tenant.geo_sql_server_id.lower()].append(tenant)
    for key, group in by_pair.items():
        if key in paired:
            # A tenant with a geo-secondary there claims no room: its secondary has its place.
            claims = [
                Claim(t.slug, t.dr_tier, _size(health.get(t.pk)))
                for t in group
                if t.database_name.lower() not in paired[key].secondaries
            ]
            placements.update(plan_pools(claims, paired[key].pools))

    out = []
    for tenant in tenants:
        pair = paired.get(tenant.geo_sql_server_id.lower(), PairedServer())
        keys = primary[tenant.sql_server_id.lower()]
        errors = [e for e in (pair.error, site_errors.get(tenant.subscription_id.lower(), "")) if e]
        database = None
        if isinstance(keys, str):
            errors.append(keys)
            kid = None
        else:
            kid, database = keys.get(tenant.database_name.lower(), (None, None))
            if kid is None:
                errors.append(
                    f"database {tenant.database_name} is not on {name_of(tenant.sql_server_id)}"
                )
        key_gap, key_note = _key(kid, pair)
        site = standby.get(tenant.slug)
        # Without a standby, the primary's configuration to build one from (a few reads each,
        # only for such tenants).
        recipe, recipe_error = ({}, "") if site else standby_recipe_read(tenant)
        errors += [recipe_error] if recipe_error else []
        snapshot = health.get(tenant.pk)
        secondary = pair.secondaries.get(tenant.database_name.lower())
        out.append(
            (
                tenant,
                ReadinessFacts(
                    slug=tenant.slug,
                    tier=tenant.dr_tier,
                    paired_server=name_of(tenant.geo_sql_server_id)
                    if tenant.geo_sql_server_id
                    else "",
                    geo_backup_at=snapshot.geo_backup_latest if snapshot else None,
                    database_bytes=_size(snapshot),
                    pool=None if secondary else placements.get(tenant.slug),
                    paired_pools=len(pair.pools),
                    most_free_bytes=most_free(pair.pools),
                    standby_site_id=site.id if site else "",
                    standby_state=site.state if site else "",
                    key_gap=key_gap,
                    key_note=key_note,
                    read_errors=tuple(errors),
                    standby_recipe=recipe,
                    key_uri=(database.encryption_protector or "") if database else "",
                    key_identity_ids=database.identity_ids
                    if database and database.encryption_protector
                    else (),
                    geo_secondary_id=secondary.id if secondary else "",
                    geo_secondary_pool_id=(secondary.elastic_pool_id or "") if secondary else "",
                ),
            )
        )
    return out
