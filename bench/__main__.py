"""`make bench`: performance figures of the portal and its embedded Azure, on this machine.

Targets live here, never in timed tests. Each figure is printed with its target and written to
var/bench-results.json. Run: `make bench` (or `uv run python -m bench --tenants 2000`); while
working on one figure, `--only refresh,dashboard` measures just those parts (the emulator seed and
the catalogue import always run: every other figure needs them).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BASE = Path(__file__).resolve().parent.parent
PARTS = (
    "dashboard", "search", "audit", "refresh", "restore", "repatriation", "failover", "engine",
)  # fmt: skip
DEFAULT_PARTS = frozenset(PARTS)


def parts(value: str) -> frozenset[str]:
    chosen = frozenset(p.strip() for p in value.split(",") if p.strip())
    unknown = chosen - set(PARTS)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}"
        )
    return chosen


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def audit_figures(events: int) -> list[tuple[str, float, str, str]]:
    """The audit trail: append rate and chain verification."""
    from bench.audit_append import append_cost
    from portal.audit import audit_record, audit_verify_chain
    from tenants.models import Tenant

    results: list[tuple[str, float, str, str]] = []
    started = time.perf_counter()
    for n in range(events):
        audit_record(action="bench.event", tenant="bench", details={"n": n})
    elapsed = time.perf_counter() - started
    results.append(("audit events appended per second", events / elapsed, "/s", "> 200 /s"))
    results.extend(append_cost(events // 2))
    total = Tenant.objects.count() + events
    started = time.perf_counter()
    report = audit_verify_chain()
    assert report.intact
    results.append(
        (
            f"audit chain verification ({report.checked} events)",
            time.perf_counter() - started,
            "s",
            f"< {max(1, total // 10000 + 1)} s",
        )
    )
    return results


def restore_plan_figure(fleet: list[dict[str, Any]]) -> tuple[str, float, str, str]:
    """A restore pre-flight plan against the emulator holding the whole fleet, for the first
    tenant (by slug) whose database is not geo-replicated: Azure does not rename a replicated
    database, so the portal refuses an in-place restore of one before any other check."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from backups.services import RestoreRequest, restore_plan
    from tenants.models import Tenant

    support = get_user_model().objects.create_user("bench-support", is_staff=True)
    support.groups.add(Group.objects.get(name="Support"))
    replicated = {t["slug"] for t in fleet if t.get("geo_secondary_database_id")}
    tenant = Tenant.objects.exclude(slug__in=replicated).order_by("slug").first()
    assert tenant is not None
    when = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    request = RestoreRequest(mode="in_place", when=when, in_utc=True)
    samples = timed(lambda: restore_plan(tenant=tenant, user=support, request=request), 5)
    return ("restore plan (in place), median", statistics.median(samples) * 1000, "ms", "< 3000 ms")


def engine_figures() -> list[tuple[str, float, str, str]]:
    """The operations engine: operations carried while waiting on Azure, and the latency of a
    short one behind them, the engine's way and the old way (its own database, Redis, workers)."""
    engine = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.engine_waits", "--operations", "40", "--seconds", "60"],
        cwd=BASE, check=True, capture_output=True, text=True,
    )  # fmt: skip
    figures = json.loads(engine.stdout.strip().splitlines()[-1])
    return [tuple(row) for row in figures.get("results", [])]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--audit-events", type=int, default=2000)
    parser.add_argument(
        "--only",
        type=parts,
        default=DEFAULT_PARTS,
        help=f"comma-separated parts to measure ({','.join(PARTS)}); default all",
    )
    parser.add_argument(
        "--restore-seconds",
        type=float,
        default=20.0,
        help="failover: how long each geo-restore takes in the emulator (Azure's take minutes "
        "to hours)",
    )
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=300,
        help="failover: about how many tenants the naive way fails over (every n-th in catalogue "
        "order; its times are extrapolated to the fleet); 0 skips it",
    )
    args = parser.parse_args()
    only: frozenset[str] = args.only

    work = Path(tempfile.mkdtemp(prefix="fleetwise-bench-"))
    os.environ.update(
        PORTAL_ENVIRONMENT="test",
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=f"sqlite:///{work / 'bench.sqlite3'}",
        PORTAL_AZURE="emulator",
        PORTAL_EMULATOR_STATE_DIR=str(work / "emulator"),
        CELERY_BROKER_URL="redis://127.0.0.1:1/0",
        AZURE_POLLING_INTERVAL="0.5",
    )
    results: list[tuple[str, float, str, str]] = []

    # 1. The emulator seeds the benchmark fleet (on the ports it will serve on: key ids name them).
    from azure_emulator.testing import RunningEmulator, free_port

    port, keyvault_port = free_port(), free_port()
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "azure_emulator", "init", "--state-dir", str(work / "emulator"),
         "--fleet-size", str(args.tenants), "--port", str(port), "--keyvault-port", str(keyvault_port)],
        cwd=BASE, check=True,
    )  # fmt: skip
    results.append(
        (f"emulator seeds {args.tenants} tenants", time.perf_counter() - started, "s", "< 10 s")
    )

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.test import Client

    from bench.dashboard import dashboard_figures
    from portal.management.commands.load_demo import catalogue_entry
    from tenants.services import tenant_import

    call_command("migrate", verbosity=0)
    # The emulator serving the seeded fleet (on free ports; it rewrites demo.json with them).
    emulator = RunningEmulator(
        state_dir=work / "emulator",
        fleet_size=args.tenants,
        lro_seconds=1,
        port=port,
        keyvault_port=keyvault_port,
    ).start()

    # 2. Importing the catalogue (validation and audit per tenant).
    demo = emulator.demo
    started = time.perf_counter()
    tenant_import(entries=[catalogue_entry(t) for t in demo["fleet"]["tenants"]], actor=None)
    results.append(
        (
            f"catalogue import of {args.tenants} tenants",
            time.perf_counter() - started,
            "s",
            "< 30 s",
        )
    )

    # 3. The fleet landing page with the whole catalogue.
    admin = get_user_model().objects.create_user("bench-admin", is_staff=True)
    admin.groups.add(Group.objects.get(name="Admins"))
    client = Client()
    client.force_login(admin)
    if "dashboard" in only:
        # The landing page is the fleet dashboard (monitoring): server time and query count at
        # fleet scale, next to reading each tenant's health row by row.
        results.extend(dashboard_figures(client))
    if "search" in only:
        samples = timed(lambda: client.get("/tenants/tenant/?q=fleet"), 10)
        results.append(
            ("catalogue search, median", statistics.median(samples) * 1000, "ms", "< 500 ms")
        )
    if "audit" in only:
        results.extend(audit_figures(args.audit_events))
    try:
        if "refresh" in only:
            from bench import fleet_refresh

            results.extend(fleet_refresh.measure(emulator))
        if "restore" in only:
            results.append(restore_plan_figure(demo["fleet"]["tenants"]))
        if "repatriation" in only:
            from bench import dr_repatriation

            results.extend(dr_repatriation.measure(emulator))
        if "failover" in only:
            # Last against the emulator: it fails the whole fleet over (twice).
            from bench import dr_failover

            results.extend(
                dr_failover.measure(
                    emulator,
                    restore_seconds=args.restore_seconds,
                    naive_sample=args.naive_sample,
                )
            )
    finally:
        emulator.close()
    if "engine" in only:
        results.extend(engine_figures())

    width = max(len(name) for name, *_ in results)
    print(f"\n{'measure'.ljust(width)}  {'value':>12}  target")
    for name, value, unit, target in results:
        print(f"{name.ljust(width)}  {value:>9.1f} {unit:<3} {target}")
    out = BASE / "var" / "bench-results.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {"when": datetime.now(UTC).isoformat(), "tenants": args.tenants,
             "results": [{"measure": n, "value": v, "unit": u, "target": t} for n, v, u, t in results]},
            indent=2,
        )
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
