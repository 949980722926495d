"""The cast shared by all tests, and the real services some tests need (Redis, PostgreSQL)."""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections
from django.db.models.signals import post_migrate

from azure_emulator.testing import RunningEmulator
from portal import roles
from portal.azure.connection import azure_connection
from portal.celery import app as celery_app
from portal.services import role_groups_sync
from tests.factories import UserFactory
from tests.postgres import POSTGRES_RUN, PostgresCluster, child_process_database_env
from tests.processes import WorkerProcess
from tests.telemetry import spans, telemetry_on, telemetry_providers  # noqa: F401 - fixtures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL run is for the concurrency-sensitive tests only (marked `postgres`)."""
    if not POSTGRES_RUN:
        return
    skip = pytest.mark.skip(reason="PostgreSQL run: only tests marked postgres")
    for item in items:
        if item.get_closest_marker("postgres") is None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A throw-away PostgreSQL cluster on a spare port (Debian's postgresql, like redis-server)."""
    cluster = PostgresCluster(free_port())
    try:
        cluster.start()
    except RuntimeError as exc:
        cluster.stop()
        pytest.fail(str(exc))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, request):
    """pytest-django's hook just before the test databases are created: in the PostgreSQL run,
    start the cluster and point the default alias at it (the dict Django's connection uses)."""
    if POSTGRES_RUN:
        from django.conf import settings

        cluster = request.getfixturevalue("postgres_cluster")
        settings.DATABASES["default"]["PORT"] = str(cluster.port)


@pytest.fixture
def support(db):
    return UserFactory(username="sam.support@fleetwise.example", groups=[roles.SUPPORT])


@pytest.fixture
def account_manager(db):
    return UserFactory(username="amy.accounts@fleetwise.example", groups=[roles.ACCOUNT_MANAGERS])


@pytest.fixture
def admin_user(db):
    return UserFactory(username="ada.admin@fleetwise.example", groups=[roles.ADMINS])


@pytest.fixture
def second_admin(db):
    """Another admin: approves what `admin_user` requests."""
    return UserFactory(username="blake.admin@fleetwise.example", groups=[roles.ADMINS])


@pytest.fixture
def outsider(db):
    """Signed in, but holds no portal role (so not staff either): must be refused everywhere."""
    return UserFactory(username="oscar.outsider@fleetwise.example", groups=[], is_staff=False)


@pytest.fixture(scope="session")
def emulator_process() -> Iterator[RunningEmulator]:
    """One embedded-Azure process for the portal's integration tests."""
    with RunningEmulator(fleet_size=8, lro_seconds=1) as running:
        yield running


@pytest.fixture
def azure_emulator(emulator_process, settings) -> Iterator[RunningEmulator]:
    """Points the portal at the running emulator (PORTAL_AZURE=emulator, its demo.json)."""
    settings.PORTAL_AZURE = "emulator"
    settings.PORTAL_EMULATOR_STATE_DIR = emulator_process.state_dir
    # The emulator only lets loopback redirect URIs through, as Entra does for http.
    settings.ENTRA_REDIRECT_URI = "http://127.0.0.1/auth/callback"
    azure_connection.cache_clear()
    yield emulator_process
    azure_connection.cache_clear()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A throw-away Debian redis-server on a spare port (installed by .ci/run / make)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is not installed: run `make test` (it installs Debian's redis-server)."
        )
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


_TRIGGERS = importlib.import_module("portal.migrations.0002_roles_and_append_only_audit")


def _audit_triggers(statements: tuple[str, ...]) -> None:
    # PostgreSQL flushes with TRUNCATE, which its row triggers do not see.
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _audit_triggers_back_after_flush(
    sender: object, using: str = "default", **kwargs: object
) -> None:
    """A transactional test's flush ends with post_migrate: put the append-only triggers back
    then, so the tests that follow find them whatever order they run in."""
    if connections[using].vendor == "sqlite":
        with connections[using].cursor() as cursor:
            for statement in _TRIGGERS.DROP_SQLITE + _TRIGGERS.SQLITE_TRIGGERS:
                cursor.execute(statement)


post_migrate.connect(
    _audit_triggers_back_after_flush, dispatch_uid="tests-audit-triggers-after-flush"
)


@pytest.fixture
def audit_triggers_lifted_for_flush(transactional_db):
    """Transactional tests end by flushing every table, which the audit table's append-only
    triggers refuse: drop them just before the flush (this teardown runs before
    transactional_db's); post_migrate puts them back after it."""
    _audit_triggers(_TRIGGERS.DROP_SQLITE + _TRIGGERS.SQLITE_TRIGGERS)
    yield
    _audit_triggers(_TRIGGERS.DROP_SQLITE)


@pytest.fixture
def worker_env(redis_url, azure_emulator, monkeypatch, audit_triggers_lifted_for_flush):
    """Environment for worker processes: this test database, this Redis, this emulator."""
    monkeypatch.setenv("CELERY_BROKER_URL", redis_url)
    monkeypatch.setenv("CELERY_RESULT_BACKEND", redis_url)
    _drop_broker_and_backend()
    role_groups_sync()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PORTAL_ENVIRONMENT": "test",
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "PORTAL_AZURE": "emulator",
        "PORTAL_EMULATOR_STATE_DIR": str(azure_emulator.state_dir),
        "OPERATIONS_LEASE_SECONDS": "6",
        "OPERATIONS_WAIT_SECONDS": "0.5",
        "AZURE_POLLING_INTERVAL": "0.5",
        **child_process_database_env(),
    }
    yield env
    _drop_broker_and_backend()


def _drop_broker_pool() -> None:
    """Celery keeps its producer pool bound to the broker URL it first used; start afresh.
    (Not `app.close()`: that also unregisters the app, and task modules imported later would
    then never register.)"""
    # kombu keeps producer pools in a registry keyed by broker URL, so the next `app.pool`
    # finds (or makes) the one for the URL now configured; closing it would break later tests.
    celery_app._pool = None  # type: ignore[attr-defined]
    # send_task publishes through amqp's own producer pool, bound the same way.
    celery_app.amqp._producer_pool = None  # type: ignore[attr-defined]


@pytest.fixture
def dead_broker(monkeypatch):
    """Point Celery at a port nobody listens on, for the broker and the result store."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    monkeypatch.setenv("CELERY_RESULT_BACKEND", url)
    _drop_broker_and_backend()
    yield url
    _drop_broker_and_backend()


def _drop_broker_and_backend() -> None:
    """The producer pool and the result store client are bound to the URL first used."""
    _drop_broker_pool()
    celery_app._backend_cache = None  # type: ignore[attr-defined]
    celery_app._local.__dict__.pop("backend", None)  # type: ignore[attr-defined]


@pytest.fixture
def worker(worker_env, tmp_path):
    process = WorkerProcess(worker_env, tmp_path / "worker.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def large_emulator_process() -> Iterator[RunningEmulator]:
    """A fleet of 20: big enough for the legacy server, whose TDE protector is a server-level
    Key Vault key shared by its tenants (the others have database-level keys). Scaling and key
    tests change Azure here, away from the shared emulator other tests only read."""
    with RunningEmulator(fleet_size=20, lro_seconds=1) as running:
        yield running


@pytest.fixture
def large_emulator(large_emulator_process, settings) -> Iterator[RunningEmulator]:
    """The portal pointed at the fleet of 20, reseeded for each test."""
    from portal.azure.clients import azure_clients

    large_emulator_process.reset()
    settings.PORTAL_AZURE = "emulator"
    settings.PORTAL_EMULATOR_STATE_DIR = large_emulator_process.state_dir
    settings.AZURE_POLLING_INTERVAL = 0.2
    azure_connection.cache_clear()
    azure_clients.cache_clear()
    yield large_emulator_process
    large_emulator_process.control("DELETE", "faults")
    azure_connection.cache_clear()
    azure_clients.cache_clear()


@pytest.fixture
def large_fleet(large_emulator) -> list[dict[str, Any]]:
    """The fleet of 20 imported into the catalogue; returns its demo.json entries."""
    from portal.management.commands.load_demo import catalogue_entry
    from tenants.services import tenant_import

    tenant_import(entries=[catalogue_entry(t) for t in large_emulator.tenants], actor=None)
    return large_emulator.tenants
