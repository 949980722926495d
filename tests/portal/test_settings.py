from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.config import AZURE_SQL_DRIVER, database_config

BASE = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "PORTAL_ENVIRONMENT": "production",
    "SECRET_KEY": "k" * 30 + "-Zq9!vT3#xLm8@pR2$wN6^yB4&cF7*hJ1",
    "ALLOWED_HOSTS": "ops.fleetwise.example",
    "DATABASE_URL": "sqlite:///var/test-deploy-check.sqlite3",
    "CELERY_BROKER_URL": "rediss://:secret@fleetwise.redis.cache.windows.net:6380/0",
    "PORTAL_AZURE": "azure",
    "AZURE_SUBSCRIPTION_IDS": "11111111-2222-3333-4444-555555555555",
    "ENTRA_TENANT_ID": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    "ENTRA_CLIENT_ID": "ffffffff-0000-1111-2222-333333333333",
    "ENTRA_CLIENT_SECRET": "client-secret",
    "ENTRA_REDIRECT_URI": "https://ops.fleetwise.example/auth/callback",
    "AUDIT_MAC_KEY": "m" * 20 + "-audit-mac-Hq4!pX8#rT2",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PORTAL_", "DJANGO_", "SECRET_KEY"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE,
        env={**clean, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_sqlite_url_gets_wal_immediate_transactions_and_a_busy_timeout(tmp_path):
    config = database_config("sqlite:///var/portal.sqlite3", base_dir=tmp_path)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(tmp_path / "var" / "portal.sqlite3")
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert config["OPTIONS"]["timeout"] == 20
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


def test_an_mssql_url_selects_mssql_django_with_an_encrypted_connection(tmp_path):
    config = database_config(
        "mssql://portal:s3cret@fleetwise-ops.database.windows.net:1433/portal", base_dir=tmp_path
    )
    assert config["ENGINE"] == "mssql"
    assert config["HOST"] == "fleetwise-ops.database.windows.net"
    assert config["PORT"] == "1433"
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("portal", "portal", "s3cret")
    assert config["OPTIONS"]["driver"] == AZURE_SQL_DRIVER
    assert "Encrypt=yes" in config["OPTIONS"]["extra_params"]
    assert "TrustServerCertificate=no" in config["OPTIONS"]["extra_params"]


def test_an_mssql_url_can_ask_for_managed_identity_authentication(tmp_path):
    config = database_config(
        "mssql://fleetwise-ops.database.windows.net/portal?authentication=ActiveDirectoryMsi",
        base_dir=tmp_path,
    )
    assert config["OPTIONS"]["extra_params"].endswith(";Authentication=ActiveDirectoryMsi")


def test_an_unknown_database_scheme_is_refused_with_the_supported_forms(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="mssql://"):
        database_config("postgres://db/portal", base_dir=tmp_path)


def test_production_without_a_secret_key_stops_with_a_clear_message():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY is required when PORTAL_ENVIRONMENT=production" in result.stderr


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "AUDIT_MAC_KEY is required when PORTAL_ENVIRONMENT=production"),
        ("   ", "AUDIT_MAC_KEY is required when PORTAL_ENVIRONMENT=production"),
        ("short-key", "at least 32 random characters"),
        (PRODUCTION_ENV["SECRET_KEY"], "AUDIT_MAC_KEY must differ from SECRET_KEY"),
    ],
)
def test_production_refuses_a_missing_short_or_reused_audit_mac_key(key, message):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "AUDIT_MAC_KEY"}
    if key is not None:
        env["AUDIT_MAC_KEY"] = key
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_passes_the_deployment_checklist_without_warnings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_debug():
    result = run_manage("check", env={**PRODUCTION_ENV, "DEBUG": "on"})
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_real_azure_mode_names_every_missing_entra_setting():
    env = {
        k: v
        for k, v in PRODUCTION_ENV.items()
        if k not in ("ENTRA_CLIENT_ID", "ENTRA_CLIENT_SECRET")
    }
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "ENTRA_CLIENT_ID" in result.stderr
    assert "ENTRA_CLIENT_SECRET_OR_CERTIFICATE" in result.stderr


def test_an_unknown_time_zone_is_refused():
    result = run_manage("check", env={**PRODUCTION_ENV, "PORTAL_TIME_ZONE": "Sydney"})
    assert result.returncode != 0
    assert "PORTAL_TIME_ZONE 'Sydney' is not an IANA time zone name" in result.stderr


def test_the_demo_runs_without_debug_like_production_and_needs_no_secret():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DEBUG, settings.PORTAL_AZURE)",
        env={"PORTAL_ENVIRONMENT": "demo", "DATABASE_URL": "sqlite:///var/test-demo-check.sqlite3"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False emulator"


def test_responses_carry_the_security_headers(client, db):
    response = client.get("/healthz/live")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SECRET_KEY", "x", "SECRET_KEY is too weak for production"),
        ("SECRET_KEY", "ab" * 40, "SECRET_KEY is too weak for production"),
        ("SECRET_KEY", "   ", "SECRET_KEY is required when PORTAL_ENVIRONMENT=production"),
        ("ALLOWED_HOSTS", "*", "ALLOWED_HOSTS=* is refused in production"),
        ("ALLOWED_HOSTS", "ops.fleetwise.example,*", "ALLOWED_HOSTS=* is refused in production"),
        ("PORTAL_AZURE", "emulator", "PORTAL_AZURE=emulator is refused in production"),
    ],
)
def test_production_refuses_to_start_with_an_unsafe_setting(variable, value, message):
    result = run_manage("check", env={**PRODUCTION_ENV, variable: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_migrate_creates_the_table_of_the_cache_every_process_shares(tmp_path):
    database = tmp_path / "portal.sqlite3"
    result = run_manage(
        "migrate",
        env={"PORTAL_ENVIRONMENT": "demo", "DATABASE_URL": f"sqlite:///{database}"},
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "portal_cache" in tables
