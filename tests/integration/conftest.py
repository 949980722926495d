"""A real Celery worker process for end-to-end operation tests, sharing the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from portal.celery import app as celery_app
from portal.services import role_groups_sync

BASE = Path(__file__).resolve().parents[2]


class WorkerProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "solo",
                 "--loglevel", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle"],
                cwd=BASE, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def kill(self) -> None:
        """What an out-of-memory kill or a lost machine does: no chance to clean up."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def log_tail(self, lines: int = 60) -> str:
        return (
            "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
            if self.log.exists()
            else ""
        )


@pytest.fixture
def worker_env(redis_url, azure_emulator, monkeypatch, audit_triggers_lifted_for_flush):
    """Environment for worker processes: this test database, this Redis, this emulator."""
    monkeypatch.setenv("CELERY_BROKER_URL", redis_url)
    monkeypatch.setenv("CELERY_RESULT_BACKEND", redis_url)
    celery_app.close()  # drop connections made with another broker URL
    role_groups_sync()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PORTAL_ENVIRONMENT": "test",
        "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "PORTAL_AZURE": "emulator",
        "PORTAL_EMULATOR_STATE_DIR": str(azure_emulator.state_dir),
        "OPERATIONS_LEASE_SECONDS": "6",
        "AZURE_POLLING_INTERVAL": "0.5",
    }
    yield env
    celery_app.close()


@pytest.fixture
def worker(worker_env, tmp_path):
    process = WorkerProcess(worker_env, tmp_path / "worker.log")
    process.start()
    yield process
    process.stop()


def wait_for(
    predicate, *, timeout: float = 90.0, every: float = 0.3, what: str = "condition", worker=None
):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    tail = worker.log_tail() if worker is not None else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")
