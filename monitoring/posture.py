"""Each tenant against the security statement the company publishes: one check per promise,
each with what the statement expects, what Azure says, and whether they agree. Pure functions
of the facts read (monitoring/posture_refresh.py reads them); each is tested both ways."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from portal.azure.configuration import (
    DatabaseConfiguration,
    ServerConfiguration,
    SiteConfiguration,
)

REGION = "australiaeast"
PITR_DAYS = 7
LTR_DAYS = 365
MIN_TLS = (1, 2)
DEFENDER_PLANS = ("SqlServers", "AppServices")
GEO_REDUNDANCIES = frozenset({"Geo", "GeoZone"})
APP_INSIGHTS_SETTINGS = ("APPLICATIONINSIGHTS_CONNECTION_STRING", "APPINSIGHTS_INSTRUMENTATIONKEY")


@dataclass(frozen=True)
class PostureFacts:
    database_name: str
    server_name: str
    database_region: str
    backup_redundancy: str
    # Database-level customer-managed key (versioned Key Vault kid), "" when server-level.
    database_key: str
    site: SiteConfiguration
    server: ServerConfiguration
    database: DatabaseConfiguration
    pricings: dict[str, str]


@dataclass(frozen=True)
class CheckResult:
    check_name: str
    title: str
    expected: str
    actual: str
    passed: bool


Check = Callable[[PostureFacts], CheckResult]


def _tls(text: str) -> tuple[int, ...] | None:
    match = re.fullmatch(r"(?:TLS)?\s*(\d+)\.(\d+)", text.strip(), re.IGNORECASE)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _tls_ok(text: str) -> bool:
    version = _tls(text)
    return version is not None and version >= MIN_TLS


_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T.*)?$", re.IGNORECASE)


def duration_days(text: str) -> float:
    """Whole-day length of an ISO-8601 duration as LTR policies use them (P1Y, P12M, P52W)."""
    match = _DURATION.match(text or "")
    if not match:
        return 0.0
    years, months, weeks, days = (int(g or 0) for g in match.groups())
    return years * 365 + months * 30.4375 + weeks * 7 + days


def database_region(f: PostureFacts) -> CheckResult:
    return CheckResult(
        "database_region", "Database hosted in Australia East", REGION, f.database_region or "unknown",
        f.database_region.replace(" ", "").lower() == REGION,
    )  # fmt: skip


def backup_geo_redundant(f: PostureFacts) -> CheckResult:
    return CheckResult(
        "backup_geo_redundant", "Backup storage geo-redundant", "Geo", f.backup_redundancy or "unknown",
        f.backup_redundancy in GEO_REDUNDANCIES,
    )  # fmt: skip


def pitr_retention(f: PostureFacts) -> CheckResult:
    days = f.database.pitr_days
    return CheckResult(
        "pitr_retention", "Point-in-time restore kept 7 days", f"{PITR_DAYS} days",
        f"{days} days" if days is not None else "unknown", days is not None and days >= PITR_DAYS,
    )  # fmt: skip


def ltr_retention(f: PostureFacts) -> CheckResult:
    ltr = f.database.ltr
    kept = max(
        duration_days(d)
        for d in (ltr.weekly_retention, ltr.monthly_retention, ltr.yearly_retention)
    )
    actual = f"weekly {ltr.weekly_retention}, monthly {ltr.monthly_retention}, yearly {ltr.yearly_retention}"
    return CheckResult(
        "ltr_retention", "Long-term backups kept 1 year", "a backup kept at least 1 year",
        actual, kept >= LTR_DAYS - 1,
    )  # fmt: skip


def tde_customer_key(f: PostureFacts) -> CheckResult:
    on = f.database.tde_state == "Enabled"
    customer = bool(f.database_key) or f.server.protector_type == "AzureKeyVault"
    where = (
        "database key"
        if f.database_key
        else f"server protector {f.server.protector_type or 'unknown'}"
    )
    return CheckResult(
        "tde_customer_key", "TDE on with a customer-managed Key Vault key",
        "TDE Enabled, Key Vault key", f"TDE {f.database.tde_state or 'unknown'}, {where}", on and customer,
    )  # fmt: skip


def sql_min_tls(f: PostureFacts) -> CheckResult:
    version = f.server.minimal_tls_version or "none"
    return CheckResult(
        "sql_min_tls", "SQL server minimum TLS 1.2", "1.2 or later", version, _tls_ok(version)
    )


def app_tls_https(f: PostureFacts) -> CheckResult:
    tls = f.site.min_tls_version or "none"
    https = "HTTPS only" if f.site.https_only else "HTTP allowed"
    return CheckResult(
        "app_tls_https", "App Service minimum TLS 1.2 and HTTPS only", "TLS 1.2 or later, HTTPS only",
        f"TLS {tls}, {https}", _tls_ok(tls) and bool(f.site.https_only),
    )  # fmt: skip


def auditing(f: PostureFacts) -> CheckResult:
    server, database = f.server.auditing_state or "unknown", f.database.auditing_state or "unknown"
    return CheckResult(
        "auditing", "Auditing on at server and database level", "server Enabled, database Enabled",
        f"server {server}, database {database}", server == "Enabled" and database == "Enabled",
    )  # fmt: skip


def app_insights(f: PostureFacts) -> CheckResult:
    found = next((name for name in APP_INSIGHTS_SETTINGS if f.site.app_settings.get(name)), "")
    return CheckResult(
        "app_insights", "Application Insights connected to the app",
        "APPLICATIONINSIGHTS_CONNECTION_STRING set", f"{found} set" if found else "not set", bool(found),
    )  # fmt: skip


def defender_plans(f: PostureFacts) -> CheckResult:
    tiers = {plan: f.pricings.get(plan, "unknown") for plan in DEFENDER_PLANS}
    actual = ", ".join(f"{plan} {tier}" for plan, tier in tiers.items())
    return CheckResult(
        "defender_plans", "Defender for SQL and App Service on", "SqlServers Standard, AppServices Standard",
        actual, all(tier == "Standard" for tier in tiers.values()),
    )  # fmt: skip


_SERVER = re.compile(r"(?:server|data source|address|addr)\s*=\s*(?:tcp:)?([^;,]+)", re.IGNORECASE)
_CATALOG = re.compile(r"(?:initial catalog|database)\s*=\s*([^;]+)", re.IGNORECASE)
SQL_TYPES = frozenset({"SQLAzure", "SQLServer"})


def _sql_targets(f: PostureFacts) -> list[tuple[str, str]]:
    """(server host, database) of every SQL connection the app is configured with."""
    values = [v for t, v in f.site.connection_strings.values() if t in SQL_TYPES]
    values += [v for v in f.site.app_settings.values() if _CATALOG.search(v) and _SERVER.search(v)]
    targets = []
    for value in values:
        server, catalog = _SERVER.search(value), _CATALOG.search(value)
        targets.append(
            (server.group(1).strip() if server else "", catalog.group(1).strip() if catalog else "")
        )
    return targets


def isolation(f: PostureFacts) -> CheckResult:
    """The app reaches only its own database: every SQL connection names its server and DB."""
    targets = _sql_targets(f)
    own_host = f"{f.server_name}.database.windows.net".lower()
    others = [
        f"{db or '?'} on {host or '?'}"
        for host, db in targets
        if host.lower() not in (own_host, f.server_name.lower())
        or db.lower() != f.database_name.lower()
    ]
    actual = (
        "; ".join(others)
        if others
        else (f"only {f.database_name}" if targets else "no SQL connection")
    )
    return CheckResult(
        "isolation", "The app reaches only its own database", f"only {f.database_name}",
        actual, bool(targets) and not others,
    )  # fmt: skip


CHECKS: tuple[Check, ...] = (
    database_region,
    backup_geo_redundant,
    pitr_retention,
    ltr_retention,
    tde_customer_key,
    sql_min_tls,
    app_tls_https,
    auditing,
    app_insights,
    defender_plans,
    isolation,
)


def check_all(facts: PostureFacts) -> list[CheckResult]:
    return [check(facts) for check in CHECKS]
