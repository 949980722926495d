"""A throw-away PostgreSQL cluster for the concurrency-sensitive tests, and the settings that point
Django (and the processes a test starts) at it.

SQLite serialises writers and so hides races; Azure SQL cannot run here. PostgreSQL has real row
locks and concurrent writers, so tests marked `postgres` run a second time against it:
`PORTAL_TEST_DATABASE=postgres pytest -m postgres` (what `make test` does after the main run).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

POSTGRES_RUN = os.environ.get("PORTAL_TEST_DATABASE", "sqlite") == "postgres"
SUPERUSER = "postgres"


def postgres_database_settings() -> dict[str, Any]:
    """The DATABASES entry of a PostgreSQL test run. The session fixture fills in the port of the
    cluster it starts; a child process gets host, port and database name from the environment."""
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("PORTAL_TEST_POSTGRES_NAME", "portal"),
        "USER": SUPERUSER,
        "PASSWORD": "",
        "HOST": os.environ.get("PORTAL_TEST_POSTGRES_HOST", "127.0.0.1"),
        "PORT": os.environ.get("PORTAL_TEST_POSTGRES_PORT", ""),
        "TEST": {"NAME": "test_portal"},
    }


def child_process_database_env() -> dict[str, str]:
    """Environment variables that point a child process (a Celery worker, a writer script) at the
    database this test is using, SQLite or PostgreSQL. Merge it last into the child's env."""
    from django.db import connection  # not at import: the test settings import this module

    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"DATABASE_URL": f"sqlite:///{settings_dict['NAME']}"}
    # The portal's own settings accept only SQLite and Azure SQL; the test settings add PostgreSQL.
    return {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PORTAL_TEST_DATABASE": "postgres",
        "PORTAL_TEST_POSTGRES_HOST": str(settings_dict["HOST"]),
        "PORTAL_TEST_POSTGRES_PORT": str(settings_dict["PORT"]),
        "PORTAL_TEST_POSTGRES_NAME": str(settings_dict["NAME"]),
    }


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    # Debian keeps the server binaries out of PATH, one folder per major version.
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: int(Path(path).parts[-3]),
    )
    if not candidates:
        raise RuntimeError(
            f"PostgreSQL's {name} is not installed: run `make bootstrap` (Debian's postgresql)."
        )
    return candidates[-1]


class PostgresCluster:
    """initdb + pg_ctl in a temporary folder, listening on 127.0.0.1:<port> only, trust auth.

    PostgreSQL refuses to run as root, so when the tests run as root the cluster belongs to the
    `postgres` system user (created by Debian's package) and its commands run through runuser.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.base = Path(tempfile.mkdtemp(prefix="portal-test-pg-"))
        self.data = self.base / "data"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam(SUPERUSER)
            os.chown(self.base, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", SUPERUSER, "--"]

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            [*self._as_user, *command], capture_output=True, text=True, check=False, timeout=120
        )
        if result.returncode != 0:
            raise RuntimeError(f"{command[0]} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        self._run(
            _binary("initdb"), "-D", str(self.data), "-U", SUPERUSER,
            "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        # A test cluster: durability is not wanted, speed is.
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.base}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            _binary("pg_ctl"), "-D", str(self.data), "-l", str(self.base / "server.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        self._wait_until_accepting()

    def _wait_until_accepting(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            result = subprocess.run(
                [_binary("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
                check=False,
            )
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start:\n{self.server_log()}")
            time.sleep(0.1)

    def server_log(self) -> str:
        log = self.base / "server.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)
