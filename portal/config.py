"""Pure functions that turn environment values into Django settings.

Kept apart from settings.py so tests can prove each mapping without re-importing settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

ENVIRONMENTS = ("production", "demo", "test")
AZURE_MODES = ("emulator", "azure")

# Azure SQL refuses unencrypted connections; ODBC Driver 18 also validates the server
# certificate by default, which is what we want against *.database.windows.net.
AZURE_SQL_DRIVER = "ODBC Driver 18 for SQL Server"
AZURE_SQL_EXTRA_PARAMS = "Encrypt=yes;TrustServerCertificate=no;Connection Timeout=30"


def database_config(url: str, *, base_dir: Path) -> dict[str, Any]:
    """Map DATABASE_URL to a Django DATABASES entry (SQLite by default, mssql-django for Azure SQL)."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        config = environ.Env.db_url_config(url)
        name = str(config["NAME"])
        if name in ("", ":memory:"):
            name = str(base_dir / "var" / "portal.sqlite3")
        elif not Path(name).is_absolute():
            name = str(base_dir / name)
        # SQLite creates the file but not its folder (var/ is not in the repository).
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            # Web, worker and beat all write: WAL lets readers continue during a write,
            # IMMEDIATE takes the write lock at BEGIN so writers queue behind the busy
            # timeout instead of failing half-way with "database is locked".
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    if scheme == "mssql":
        config = environ.Env.db_url_config(url)
        query = dict(parse_qsl(urlsplit(url).query))
        options: dict[str, Any] = {
            "driver": query.get("driver", AZURE_SQL_DRIVER),
            "extra_params": query.get("extra_params", AZURE_SQL_EXTRA_PARAMS),
        }
        if "authentication" in query:
            # e.g. ActiveDirectoryMsi for the App Service's managed identity.
            options["extra_params"] += f";Authentication={query['authentication']}"
        return {
            "ENGINE": "mssql",
            "NAME": config["NAME"],
            "USER": config.get("USER", ""),
            "PASSWORD": config.get("PASSWORD", ""),
            "HOST": config["HOST"],
            "PORT": str(config.get("PORT") or "1433"),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL scheme {scheme!r} is not supported: use sqlite:///path or "
        "mssql://user:password@server.database.windows.net:1433/dbname"
    )


def require_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {value!r}.")
    return value


def require_present(environment: str, **values: object) -> None:
    """Refuse to start when a setting the chosen environment needs is empty."""
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ImproperlyConfigured(
            f"{environment}: these settings are required and missing: {', '.join(missing)}. "
            "See .env.example and the README's Configuration section."
        )


# Django's own deployment check (security.W009) calls a key weak below these figures.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5


# The audit trail's HMAC key (docs/audit.md).
AUDIT_MAC_KEY_MIN_LENGTH = 32


def production_refusals(
    *, secret_key: str, allowed_hosts: list[str], azure_mode: str, audit_mac_key: str
) -> list[str]:
    """What makes a production start-up unsafe, in words (empty when it is safe).

    Each of these once started a production portal that would have run: a one-letter or
    blank secret key (sessions and signed restore confirmations forgeable), a wildcard host
    (Host-header poisoning of absolute URLs such as the sign-in callback) and the emulator
    (a fake Azure answering for the real fleet). A missing audit MAC key would leave the audit
    trail open to anyone who can write to the database; sharing SECRET_KEY's value would let
    one leaked secret forge both sessions and audit events."""
    refusals = []
    key = secret_key.strip()
    if (
        len(key) < SECRET_KEY_MIN_LENGTH
        or len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
        or key.startswith("django-insecure-")
    ):
        refusals.append(
            f"SECRET_KEY is too weak for production: use a random value of at least "
            f"{SECRET_KEY_MIN_LENGTH} characters (for example from Key Vault)."
        )
    if any(host.strip() == "*" for host in allowed_hosts):
        refusals.append(
            "ALLOWED_HOSTS=* is refused in production: name the host(s) the portal answers to."
        )
    mac_key = audit_mac_key.strip()
    if len(mac_key) < AUDIT_MAC_KEY_MIN_LENGTH:
        refusals.append(
            "AUDIT_MAC_KEY is required when PORTAL_ENVIRONMENT=production: at least "
            f"{AUDIT_MAC_KEY_MIN_LENGTH} random characters, kept outside the portal's database "
            "(e.g. a Key Vault reference). See docs/audit.md."
        )
    elif mac_key == key:
        refusals.append("AUDIT_MAC_KEY must differ from SECRET_KEY.")
    if azure_mode == "emulator":
        refusals.append(
            "PORTAL_AZURE=emulator is refused in production: the emulator is for the demo and "
            "tests; set PORTAL_AZURE=azure."
        )
    return refusals
