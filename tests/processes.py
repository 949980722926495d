"""Helpers for tests that run real processes: a Celery worker sharing the test database."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

BASE = Path(__file__).resolve().parents[1]


class WorkerProcess:
    def __init__(self, env: dict[str, str], log: Path, *, app: str = "portal") -> None:
        self.env = env
        self.log = log
        # The Celery app module (the engine's tests use one that also registers test kinds).
        self.app = app
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", self.app, "worker", "--pool", "solo",
                 "--loglevel", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle"],
                cwd=BASE, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def wait_ready(self, timeout: float = 300.0) -> None:
        """Until the worker consumes (starting takes long on a busy machine)."""
        wait_for(
            lambda: self.log.exists() and "ready." in self.log.read_text(errors="replace"),
            timeout=timeout,
            what="the worker to be ready",
            worker=self,
        )

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
