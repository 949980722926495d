"""Each posture check against the security statement, passing and failing (pure functions)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from monitoring import posture
from monitoring.posture import PostureFacts, check_all, duration_days
from portal.azure.configuration import (
    DatabaseConfiguration,
    ServerConfiguration,
    SiteConfiguration,
)
from portal.azure.sql import LtrPolicy

KID = "https://kv-fw.vault.azure.net/keys/tde-acme/0123456789abcdef0123456789abcdef"
OWN = (
    "Server=tcp:sql-fw-aue-01.database.windows.net,1433;Initial Catalog=db-acme;"
    "Authentication=Active Directory Managed Identity;"
)


def good() -> PostureFacts:
    return PostureFacts(
        database_name="db-acme",
        server_name="sql-fw-aue-01",
        database_region="australiaeast",
        backup_redundancy="Geo",
        database_key=KID,
        site=SiteConfiguration(
            https_only=True,
            min_tls_version="1.2",
            always_on=True,
            health_check_path="/healthz",
            app_settings={"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=abc"},
            connection_strings={"FleetwiseDb": ("SQLAzure", OWN)},
        ),
        server=ServerConfiguration(
            minimal_tls_version="1.2",
            auditing_state="Enabled",
            protector_type="ServiceManaged",
            protector_uri="",
        ),
        database=DatabaseConfiguration(
            auditing_state="Enabled",
            tde_state="Enabled",
            pitr_days=7,
            ltr=LtrPolicy(weekly_retention="P52W"),
        ),
        pricings={"SqlServers": "Standard", "AppServices": "Standard", "VirtualMachines": "Free"},
    )


def result(facts: PostureFacts, name: str) -> posture.CheckResult:
    return next(c for c in check_all(facts) if c.check_name == name)


def test_a_tenant_keeping_every_promise_passes_every_check():
    checks = check_all(good())
    assert len(checks) == 11
    assert [c.check_name for c in checks if not c.passed] == []


F = good()
FAILING = [
    ("database_region", replace(F, database_region="australiasoutheast"), "australiasoutheast"),
    ("backup_geo_redundant", replace(F, backup_redundancy="Local"), "Local"),
    ("pitr_retention", replace(F, database=replace(F.database, pitr_days=3)), "3 days"),
    ("ltr_retention", replace(F, database=replace(F.database, ltr=LtrPolicy(weekly_retention="P4W"))), "weekly P4W, monthly PT0S, yearly PT0S"),
    ("tde_customer_key", replace(F, database_key=""), "TDE Enabled, server protector ServiceManaged"),
    ("tde_customer_key", replace(F, database=replace(F.database, tde_state="Disabled")), "TDE Disabled, database key"),
    ("sql_min_tls", replace(F, server=replace(F.server, minimal_tls_version="1.0")), "1.0"),
    ("sql_min_tls", replace(F, server=replace(F.server, minimal_tls_version="")), "none"),
    ("app_tls_https", replace(F, site=replace(F.site, min_tls_version="1.1")), "TLS 1.1, HTTPS only"),
    ("app_tls_https", replace(F, site=replace(F.site, https_only=False)), "TLS 1.2, HTTP allowed"),
    ("auditing", replace(F, server=replace(F.server, auditing_state="Disabled")), "server Disabled, database Enabled"),
    ("auditing", replace(F, database=replace(F.database, auditing_state="Disabled")), "server Enabled, database Disabled"),
    ("app_insights", replace(F, site=replace(F.site, app_settings={})), "not set"),
    ("defender_plans", replace(F, pricings={"SqlServers": "Free", "AppServices": "Standard"}), "SqlServers Free, AppServices Standard"),
    ("defender_plans", replace(F, pricings={}), "SqlServers unknown, AppServices unknown"),
    ("isolation", replace(F, site=replace(F.site, connection_strings={"Other": ("SQLAzure", OWN.replace("db-acme", "db-other"))})), "db-other on sql-fw-aue-01.database.windows.net"),
    ("isolation", replace(F, site=replace(F.site, app_settings={**F.site.app_settings, "DB": OWN.replace("sql-fw-aue-01", "sql-shared")})), "db-acme on sql-shared.database.windows.net"),
    ("isolation", replace(F, site=replace(F.site, connection_strings={})), "no SQL connection"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "facts", "actual"), FAILING)
def test_each_broken_promise_fails_its_check_saying_what_azure_has(name, facts, actual):
    check = result(facts, name)
    assert not check.passed
    assert check.actual == actual
    others = [c.check_name for c in check_all(facts) if not c.passed and c.check_name != name]
    assert others == []


def test_a_server_level_key_vault_protector_counts_as_customer_managed():
    facts = replace(F, database_key="", server=replace(F.server, protector_type="AzureKeyVault"))
    assert result(facts, "tde_customer_key").passed


def test_ltr_of_twelve_months_or_a_year_passes_and_tls_1_3_passes():
    for ltr in (LtrPolicy(monthly_retention="P12M"), LtrPolicy(yearly_retention="P1Y")):
        assert result(replace(F, database=replace(F.database, ltr=ltr)), "ltr_retention").passed
    assert result(
        replace(F, server=replace(F.server, minimal_tls_version="1.3")), "sql_min_tls"
    ).passed


def test_iso_durations_as_ltr_policies_write_them():
    assert duration_days("P52W") == 364
    assert duration_days("P1Y") == 365
    assert duration_days("PT0S") == 0
    assert duration_days("nonsense") == 0
