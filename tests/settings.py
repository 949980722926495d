"""Settings for the test suite and the type checker: the real settings in the `test` environment."""

from __future__ import annotations

import os

os.environ.setdefault("PORTAL_ENVIRONMENT", "test")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")

from portal.settings import *  # noqa: E402, F403
from portal.settings import VAR_DIR  # noqa: E402

# Fast hashing: tests create many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A file, not memory: browser tests' live server and Celery worker processes share it.
# PORTAL_TEST_DB lets two test runs on one machine keep out of each other's way.
DATABASES["default"]["TEST"] = {  # noqa: F405
    "NAME": os.environ.get("PORTAL_TEST_DB", str(VAR_DIR / "test-portal.sqlite3"))
}

# `PORTAL_TEST_DATABASE=postgres pytest -m postgres` runs the concurrency-sensitive tests against a
# throw-away PostgreSQL cluster (tests/postgres.py); the portal itself supports SQLite and Azure SQL.
if os.environ.get("PORTAL_TEST_DATABASE", "sqlite") == "postgres":
    from tests.postgres import postgres_database_settings

    DATABASES["default"] = postgres_database_settings()  # noqa: F405
