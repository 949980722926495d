"""Reading posture facts, a slice of the fleet each hour so every tenant is read once a day
without a burst of configuration reads (about seven per tenant, three per server, one per
subscription)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from monitoring.fleet import Fleet, SourceResult
from monitoring.models import Source
from monitoring.posture import PostureFacts, check_all
from portal.azure import configuration, defender
from portal.azure import sql as azure_sql
from portal.azure.errors import AzureError
from portal.resource_ids import name_of
from tenants.models import Tenant

SLICES = 24
CONCURRENCY = 8


def posture_slice(tenants: list[Tenant], now: datetime, checked: set[int]) -> list[Tenant]:
    """This hour's share of the fleet (tenant pk modulo 24 = the UTC hour), plus every tenant
    never checked (`checked`: the pks that have posture rows), so a new fleet is checked at
    once and then settles into the daily spread."""
    return [t for t in tenants if t.pk % SLICES == now.hour or t.pk not in checked]


Pricings = dict[str, str] | AzureError
ServerFacts = configuration.ServerConfiguration | AzureError


def _shared(fleet: Fleet) -> tuple[dict[str, Pricings], dict[str, ServerFacts]]:
    """Pricings per subscription and configuration per server (or the AzureError)."""
    pricings: dict[str, Pricings] = {}
    for key, subscription in fleet.subscriptions.items():
        try:
            pricings[key] = defender.pricings(subscription)
        except AzureError as exc:
            pricings[key] = exc
    servers: dict[str, ServerFacts] = {}
    for key, server_id in fleet.servers.items():
        try:
            servers[key] = configuration.server_configuration(server_id)
        except AzureError as exc:
            servers[key] = exc
    return pricings, servers


def _facts(tenant: Tenant, pricings: Pricings, server: ServerFacts) -> PostureFacts | str:
    if isinstance(pricings, AzureError):
        return f"Defender plans could not be read: {pricings}"
    if isinstance(server, AzureError):
        return f"SQL server configuration could not be read: {server}"
    try:
        site = configuration.site_configuration(tenant.app_service_site_id)
        database = configuration.database_configuration(tenant.database_id)
        db = azure_sql.database_get(tenant.database_id)
    except AzureError as exc:
        return f"Configuration could not be read: {exc}"
    return PostureFacts(
        database_name=tenant.database_name,
        server_name=name_of(tenant.sql_server_id),
        database_region=db.location,
        backup_redundancy=db.backup_storage_redundancy,
        database_key=db.encryption_protector or "",
        site=site,
        server=server,
        database=database,
        pricings=pricings,
    )


def read_posture(fleet: Fleet, now: datetime) -> SourceResult:
    result = SourceResult()
    pricings, servers = _shared(fleet)

    def one(tenant: Tenant) -> PostureFacts | str:
        return _facts(
            tenant,
            pricings[tenant.subscription_id.lower()],
            servers[tenant.sql_server_id.lower()],
        )

    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        futures = [pool.submit(contextvars.copy_context().run, one, t) for t in fleet.tenants]
        outcomes = [f.result() for f in futures]
    for tenant, facts in zip(fleet.tenants, outcomes, strict=True):
        if isinstance(facts, str):
            result.fail([tenant], facts)
            continue
        checks = check_all(facts)
        ltr = facts.database.ltr
        result.set(
            tenant,
            _checks=checks,
            app_https_only=facts.site.https_only,
            app_min_tls=facts.site.min_tls_version,
            app_always_on=facts.site.always_on,
            app_health_check_path=facts.site.health_check_path,
            pitr_days=facts.database.pitr_days,
            ltr_policy={
                "weekly": ltr.weekly_retention,
                "monthly": ltr.monthly_retention,
                "yearly": ltr.yearly_retention,
                "week_of_year": ltr.week_of_year,
            },
            ai_connected=next(c.passed for c in checks if c.check_name == "app_insights"),
            posture_failures=sum(1 for c in checks if not c.passed),
        )
    return result


POSTURE_READERS: dict[str, Callable[[Fleet, datetime], SourceResult]] = {
    Source.POSTURE: read_posture
}
