"""The fleet's layout: subscriptions, server pairs, pools and the tenants placed in them."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from azure_emulator.config import EmulatorConfig
from azure_emulator.directory import Directory
from azure_emulator.seed.alerts import alerts
from azure_emulator.seed.builder import (
    GEO_REGION,
    KEYVAULT_KEYS,
    POOLS_PER_SERVER,
    PRIMARY_REGION,
    ROLE_TAG,
    TENANT_TAG,
    TENANTS_PER_POOL,
    FleetBuilder,
    Placement,
    slugify,
    spread,
    tenant_names,
)
from azure_emulator.seed.databases import dropped_databases, tenant_database
from azure_emulator.seed.keys import server_level_key, tenant_key
from azure_emulator.seed.servers import elastic_pool, resource_group, sql_server, subscription
from azure_emulator.seed.sites import SiteTarget, WebApp, tenant_web_app
from azure_emulator.state import JSON, Store, isoformat

IDENTITY_PATH = (
    "/resourceGroups/rg-fleetwise-security/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/id-fleetwise-tde"
)


@dataclass
class Fleet:
    """What the layout has placed so far (the fleet info the README documents) and what is next."""

    names: Iterator[str]
    violations: dict[str, set[int]]
    tenants: list[JSON] = field(default_factory=list)
    servers: list[JSON] = field(default_factory=list)
    pools: list[JSON] = field(default_factory=list)
    server_count: int = 0

    def flags_of_next_tenant(self) -> dict[str, bool]:
        index = len(self.tenants)
        return {k: index in v for k, v in self.violations.items()}


def seed_fleet(
    store: Store,
    config: EmulatorConfig,
    directory: Directory,
    hooks: Sequence[Callable[..., None]] = (),
) -> None:
    """Fill an empty store with the fleet for ``config.seed`` and ``config.fleet_size``."""
    from azure_emulator.providers import sql as sql_provider

    b = FleetBuilder(store, config, directory)
    size = max(1, config.fleet_size)
    subscriptions = [subscription(b, i) for i in range(2 if size > 1 else 1)]
    names = tenant_names(b.rng, size)
    store.tables.setdefault(KEYVAULT_KEYS, {})
    fleet = Fleet(names=iter(names), violations=seeded_violations(b.rng, size))
    per_sub = spread(size, len(subscriptions))
    for sub_index, (sub, count) in enumerate(zip(subscriptions, per_sub, strict=True)):
        if count:
            subscription_fleet(b, fleet, sub["subscription_id"], count, first=sub_index == 0)
    dropped_databases(b, fleet.tenants, sql_provider)
    alerts(b, fleet.tenants)
    store.info = {
        "seed": {"seed": config.seed, "fleet_size": size, "seeded_at": isoformat(b.now)},
        "subscriptions": subscriptions,
        "keyvault_url": config.keyvault_base,
        "fleet": {"tenants": fleet.tenants, "servers": fleet.servers, "pools": fleet.pools},
    }
    for hook in hooks:
        hook(store=store, config=config, rng=random.Random(f"{config.seed}-{hook.__module__}"))  # noqa: S311
    store.touch()


def seeded_violations(rng: random.Random, size: int) -> dict[str, set[int]]:
    """A few deliberate departures from the security statement, spread over the fleet
    (tenant indexes per kind)."""

    def pick(minimum: int, one_in: int) -> set[int]:
        return set(rng.sample(range(size), k=min(size, max(minimum, size // one_in))))

    return {
        "backup_local": pick(1, 25),
        "auditing_off": pick(1, 25),
        "service_managed_tde": pick(1, 30),
        "stopped_site": pick(1, 25),
        "unhealthy_site": pick(2, 15),
        "geo_replicated": pick(1, 20),
    }


def server_groups(count: int, *, first_subscription: bool) -> list[tuple[int, str]]:
    """(tenants, minimal TLS version) per server pair of a subscription.

    A small legacy server (TLS 1.0 still allowed) in the first subscription of a fleet big
    enough to spare a few tenants for it: a server-level posture violation."""
    legacy = max(2, count // 25) if first_subscription and count >= 10 else 0
    main_count = count - legacy
    server_count = max(1, math.ceil(main_count / (TENANTS_PER_POOL * POOLS_PER_SERVER)))
    groups = [(n, "1.2") for n in spread(main_count, server_count)]
    if legacy:
        groups.append((legacy, "1.0"))
    return groups


def subscription_fleet(
    b: FleetBuilder, fleet: Fleet, sub_id: str, count: int, *, first: bool
) -> None:
    """A subscription's shared resource groups and its server pairs with their tenants."""
    sql_rg = resource_group(b, sub_id, "rg-fleetwise-sql-aue", PRIMARY_REGION, _shared())
    geo_rg = resource_group(b, sub_id, "rg-fleetwise-sql-ase", GEO_REGION, _shared())
    resource_group(b, sub_id, "rg-fleetwise-security", PRIMARY_REGION, _shared())
    identity_id = f"/subscriptions/{sub_id}{IDENTITY_PATH}"
    for group_size, tls in server_groups(count, first_subscription=first):
        fleet.server_count += 1
        suffix = "legacy" if tls == "1.0" else f"{fleet.server_count:02d}"
        primary = sql_server(
            b, sql_rg["id"], f"sql-fleetwise-aue-{suffix}", PRIMARY_REGION, role="primary", tls=tls
        )
        geo = sql_server(b, geo_rg["id"], f"sql-fleetwise-ase-{suffix}", GEO_REGION, role="geo")
        primary["_meta"]["geo_server_id"] = geo["id"]
        # The legacy server keeps Azure's other CMK level: one server TDE protector in Key
        # Vault shared by all its tenants (the others have a key per database).
        server_kid = server_level_key(b, primary, geo) if tls == "1.0" else None
        fleet.servers.extend(server_records(sub_id, primary, geo, tls))
        for pool_number, in_pool in enumerate(pool_sizes(group_size), start=1):
            pool = elastic_pool(b, primary, f"pool-{suffix}-{pool_number:02d}", in_pool)
            fleet.pools.append(
                {
                    "id": pool["id"],
                    "name": pool["name"],
                    "server_id": primary["id"],
                    "sku": pool["sku"],
                }
            )
            place = Placement(sub_id, primary, geo, pool, identity_id, server_kid)
            for _ in range(in_pool):
                flags = fleet.flags_of_next_tenant()
                fleet.tenants.append(tenant(b, place, next(fleet.names), flags))


def _shared() -> dict[str, str]:
    return {ROLE_TAG: "shared"}


def pool_sizes(tenants: int) -> list[int]:
    """Tenants per pool of a server: at least two pools where there are tenants enough to
    share them (pool moves need one), at most four, about six tenants or more in each."""
    pool_count = max(2 if tenants >= 4 else 1, min(POOLS_PER_SERVER, math.ceil(tenants / 6)))
    return spread(tenants, pool_count)


def server_records(sub_id: str, primary: JSON, geo: JSON, tls: str) -> list[JSON]:
    """The fleet info's rows for a primary server and its geo partner."""
    return [
        {
            "id": primary["id"],
            "name": primary["name"],
            "region": PRIMARY_REGION,
            "subscription_id": sub_id,
            "geo_server_id": geo["id"],
            "minimal_tls_version": tls,
        },
        {
            "id": geo["id"],
            "name": geo["name"],
            "region": GEO_REGION,
            "subscription_id": sub_id,
            "geo_server_id": None,
            "minimal_tls_version": "1.2",
        },
    ]


def tenant(b: FleetBuilder, place: Placement, display: str, flags: dict[str, bool]) -> JSON:
    """One tenant's resource group, key, database and web app; returns its fleet info row."""
    if place.server_kid is not None:
        # The server's protector is customer-managed: nothing service-managed to report.
        flags = {**flags, "service_managed_tde": False}
    slug = slugify(display)
    tags = {TENANT_TAG: slug}
    rg = resource_group(b, place.subscription_id, f"rg-{slug}", PRIMARY_REGION, tags)
    created = b.days_ago(60, 900)
    key_history = tenant_key(b, place, slug, created)
    database = tenant_database(
        b, place, slug=slug, created=created, key_history=key_history, flags=flags
    )
    target = SiteTarget(
        slug=slug,
        resource_group=rg,
        subscription_id=place.subscription_id,
        tags=tags,
        sql_server_name=place.primary["name"],
        database_name=database["name"],
        unhealthy=flags["unhealthy_site"],
        stopped=flags["stopped_site"] and not flags["unhealthy_site"],
    )
    web = tenant_web_app(b, target)
    return tenant_record(display, place, rg, database, web, key_history[-1][0], flags)


def tenant_record(
    display: str,
    place: Placement,
    rg: JSON,
    database: JSON,
    web: WebApp,
    tenant_kid: str,
    flags: dict[str, bool],
) -> JSON:
    """The tenant's row in the fleet info (the README's ``fleet.tenants[]`` table)."""
    server, geo, pool = place.primary, place.geo, place.pool
    kid = tenant_kid if place.server_kid is None else place.server_kid
    return {
        "slug": database["_meta"]["tenant"],
        "display_name": display,
        "region": PRIMARY_REGION,
        "subscription_id": place.subscription_id,
        "resource_group": rg["name"],
        "resource_group_id": rg["id"],
        "site_name": web.site_name,
        "site_id": web.site_id,
        "plan_name": web.plan_name,
        "plan_id": web.plan_id,
        "sql_server_name": server["name"],
        "sql_server_id": server["id"],
        "sql_resource_group": server["id"].split("/")[4],
        "database_name": database["name"],
        "database_id": database["id"],
        "elastic_pool_name": pool["name"],
        "elastic_pool_id": pool["id"],
        "geo_server_name": geo["name"],
        "geo_server_id": geo["id"],
        "geo_region": GEO_REGION,
        "key_name": kid.split("/")[-2],
        "key_id": kid,
        "key_level": "database" if place.server_kid is None else "server",
        "app_insights_id": web.app_insights_id,
        "geo_secondary_database_id": database["_meta"].get("geo_secondary_id"),
        "seeded_issues": sorted(k for k, v in flags.items() if v and k != "geo_replicated"),
    }
