"""Benchmark: how many operations two worker processes carry at once while each waits on a
60-second Azure operation, and how long a short operation queued behind them takes — the
engine's way (a step returns `Wait` and frees the worker) next to the old way (the step sleeps
in the worker), measured in the same run.

Run by `python -m bench` (a separate process: it needs its own database, Redis and workers);
alone: `python -m bench.engine_waits --operations 40 --seconds 60`. Prints JSON results.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BASE = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and Debian's redis-server
            command, cwd=BASE, stdout=out, stderr=subprocess.STDOUT
        )


def _until(predicate: Any, timeout: float, every: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engine_waits")
    parser.add_argument("--operations", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    redis = shutil.which("redis-server")
    if redis is None:
        print(json.dumps({"skipped": "redis-server is not installed"}))
        return 0
    work = Path(tempfile.mkdtemp(prefix="fleetwise-bench-engine-"))
    port = _free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    os.environ.update(
        PORTAL_ENVIRONMENT="test",
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=f"sqlite:///{work / 'bench.sqlite3'}",
        PORTAL_AZURE="emulator",
        PORTAL_EMULATOR_STATE_DIR=str(work / "emulator"),
        CELERY_BROKER_URL=broker,
        CELERY_RESULT_BACKEND=broker,
    )
    processes = [
        _start(
            [redis, "--port", str(port), "--bind", "127.0.0.1", "--save", ""], work / "redis.log"
        )
    ]
    try:
        results = _measure(work, args.operations, args.seconds, processes)
    finally:
        for process in processes:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
    print(json.dumps({"results": results}))
    return 0


def _measure(
    work: Path, count: int, seconds: float, processes: list[subprocess.Popen[bytes]]
) -> list[list[Any]]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from bench.operation_kinds import BenchWait, register_bench_kinds

    call_command("migrate", verbosity=0)
    register_bench_kinds()
    person = get_user_model().objects.create_user("bench-support", is_staff=True)
    person.groups.add(Group.objects.get(name="Support"))
    logs = [work / f"worker-{n}.log" for n in range(2)]
    for log in logs:
        processes.append(
            _start(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "bench.worker_app",
                    "worker",
                    "--pool",
                    "solo",
                    "--loglevel",
                    "INFO",
                    "--without-heartbeat",
                    "--without-gossip",
                    "--without-mingle",
                ],
                log,
            )  # fmt: skip
        )
    if not _until(lambda: all("ready." in log.read_text(errors="replace") for log in logs), 300):
        raise RuntimeError("the benchmark's workers did not start")
    results: list[list[Any]] = []
    for way, kind, look_again in (
        ("returning Wait", "bench_wait", 5.0),
        ("sleeping in the worker (old way)", "bench_sleep", 1.0),
    ):
        carried, latency = _round(person, kind, count, BenchWait(seconds, look_again), way)
        target = f"= {count}" if kind == "bench_wait" else "reference"
        results.append([f"operations two workers carry at once, {way}", carried, "ops", target])
        results.append(
            [
                f"short operation queued behind them, {way}",
                latency,
                "s",
                "< 10 s" if kind == "bench_wait" else "reference (capped at 90 s)",
            ]
        )
    return results


def _round(person: Any, kind: str, count: int, parameters: Any, way: str) -> tuple[int, float]:
    from operations.kinds import Subject
    from operations.models import Operation, OperationStep
    from operations.services import operation_request

    def request(kind: str, label: str, values: Any) -> Operation:
        return operation_request(
            kind=kind,
            subject=Subject(Operation.Subject.REGION, f"{label}-{time.monotonic_ns()}", label),
            requested_by=person,
            reason="benchmark",
            parameters=values,
        )

    ids = [request(kind, f"{kind}-{n}", parameters).pk for n in range(count)]

    def carried() -> int:
        return OperationStep.objects.filter(
            operation_id__in=ids, state=OperationStep.State.RUNNING
        ).count()

    peak = 0
    deadline = time.monotonic() + min(30.0, parameters.seconds / 2)
    while time.monotonic() < deadline:
        peak = max(peak, carried())
        time.sleep(0.5)
    quick = request("bench_quick", "quick", type(parameters)(seconds=0))
    started = time.monotonic()
    done = _until(
        lambda: Operation.objects.filter(pk=quick.pk, state=Operation.State.SUCCEEDED).exists(),
        90.0,
        every=0.2,
    )
    latency = time.monotonic() - started if done else 90.0
    if kind == "bench_wait":
        # Let the round finish before the next, so the two ways do not share the workers (the
        # old way's round is last; its workers are killed when it has been measured).
        _until(
            lambda: (
                not Operation.objects.filter(pk__in=ids, state__in=Operation.ACTIVE_STATES).exists()
            ),
            parameters.seconds * 2 + 30,
        )
    return peak, latency


if __name__ == "__main__":
    sys.exit(main())
