"""Benchmark: the customer's downtime when a failed-over tenant is brought home, the portal's way
next to a naive way, in the same run.

Two tenants are failed over during an emulated Australia East outage (the failover's own child
kind), the outage ends, and the home copies are seeded for `--seeding-seconds` (the emulator's
create LRO; in Azure, hours for a large database). The portal's way (`repatriate`) seeds while
customers stay on the standby and stops it only for the switch. The naive way is the same steps
with the standby stopped before the home copy is made — what a stop-then-copy-back would do.
Downtime is read from each run's `DrRepatriation` row (standby stopped → home app and database
healthy). The engine is driven in this process by worker threads (bench/dr_failover.py).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.utils import timezone

Figure = tuple[str, float, str, str]
NAIVE = "bench_repatriate_stop_first"


def _stop_standby_first(context: Any) -> str:
    from dr.repatriation_state import SWITCH_STARTED_AT, parameters
    from portal.azure import web

    if context.get(SWITCH_STARTED_AT) is None:
        context.save(**{SWITCH_STARTED_AT: timezone.now().isoformat()})
    web.site_stop(parameters(context).away_site_id)
    return "Standby stopped before the copy home: the downtime starts now."


def _naive_kind() -> Any:
    from dr.repatriation import RepatriationParameters
    from dr.repatriation_steps import repatriation_plan
    from operations.kinds import OperationKind, Step
    from portal.roles import APPROVE_OPERATION

    def plan(operation: Any) -> list[Any]:
        steps = repatriation_plan(operation)
        at = next(i for i, s in enumerate(steps) if s.key == "secondary")
        stop = Step("stop_standby", "Stop the standby first", _stop_standby_first)
        return [*steps[:at], stop, *steps[at:]]

    return OperationKind(
        name=NAIVE,
        label="Repatriation, standby stopped first",
        permission=APPROVE_OPERATION,
        needs_approval=lambda: False,
        plan=plan,
        parameters=RepatriationParameters,
    )


def _finished(operation: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        operation.refresh_from_db()
        if operation.is_finished:
            return operation
        time.sleep(0.5)
    raise RuntimeError(f"operation #{operation.pk} still running after {timeout:.0f} s")


def _movable(count: int, healthy: set[str]) -> list[Any]:
    """Tenants a geo-restore failover brings up (ready, not by a replication link) whose home
    app is healthy (`healthy`: slugs seeded with no issue; a home app the seed made fail its
    health check rightly fails the repatriation's verify step)."""
    from dr.models import DrReadiness

    rows = (
        DrReadiness.objects.filter(ready=True, geo_secondary_id="", tenant__slug__in=healthy)
        .exclude(standby_site_id="")
        .select_related("tenant")
        .order_by("tenant__slug")
    )
    return [r.tenant for r in rows[:count]]


def _fail_over(emulator: Any, tenants: list[Any], admin: Any, workers: Any) -> None:
    from django.db import transaction

    from dr.failover import TENANT_FAILOVER, tenant_failover_parameters
    from operations.engine import operation_start_now
    from operations.services import operation_create, tenant_subject

    emulator.control("POST", "faults/outage", {"region": "australiaeast", "active": True})
    try:
        children = []
        for tenant in tenants:
            with transaction.atomic():
                child = operation_create(
                    kind=TENANT_FAILOVER,
                    subject=tenant_subject(tenant),
                    tenant=tenant,
                    requested_by=admin,
                    reason="bench outage",
                    ticket="",
                    parameters=tenant_failover_parameters(tenant),
                    needs_approval=False,
                )
                operation_start_now(child, workers.enqueue)
            children.append(child)
        for child in children:
            if _finished(child, 300).state != "succeeded":
                raise RuntimeError(f"failover #{child.pk}: {child.error_message}")
    finally:
        emulator.control("POST", "faults/outage", {"region": "australiaeast", "active": False})


def _ready_fleet() -> None:
    from dr.models import DrReadiness
    from dr.services import readiness_refresh
    from monitoring.models import RefreshRun
    from monitoring.services import fleet_refresh

    if not DrReadiness.objects.filter(ready=True).exists():
        fleet_refresh(kind=RefreshRun.Kind.BACKUPS)
        readiness_refresh()


def measure(emulator: Any, *, seeding_seconds: float = 10.0, threads: int = 4) -> list[Figure]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from bench.dr_failover import Workers
    from dr.models import DrRepatriation
    from dr.repatriation import repatriation_parameters, repatriation_request
    from operations.kinds import registered
    from operations.services import operation_request

    settings.OPERATIONS_WAIT_SECONDS = 0.5
    admin = get_user_model().objects.create_user("bench-repat-ada", is_staff=True)
    admin.groups.add(Group.objects.get(name="Admins"))
    _ready_fleet()
    healthy = {t["slug"] for t in emulator.demo["fleet"]["tenants"] if not t["seeded_issues"]}
    ours_tenant, naive_tenant = _movable(2, healthy)
    workers = Workers(threads)
    try:
        _fail_over(emulator, [ours_tenant, naive_tenant], admin, workers)
        for tenant in (ours_tenant, naive_tenant):
            tenant.refresh_from_db()
        emulator.control(
            "POST", "lro", {"operation": "databases.create_or_update", "seconds": seeding_seconds}
        )
        print(  # noqa: T201
            f"  repatriation bench: {ours_tenant.slug} the portal's way, {naive_tenant.slug} "
            f"standby stopped first; home copies seeded in {seeding_seconds:g} s"
        )
        ours = _finished(
            repatriation_request(
                tenants=[ours_tenant], user=admin, reason="bench", enqueue=workers.enqueue
            ),
            300,
        )
        with registered(_naive_kind()):
            naive = _finished(
                operation_request(
                    kind=NAIVE,
                    tenant=naive_tenant,
                    requested_by=admin,
                    reason="bench",
                    parameters=repatriation_parameters(naive_tenant, timezone.now()),
                    enqueue=workers.enqueue,
                ),
                300,
            )
    finally:
        workers.stop()
        emulator.control("POST", "lro", {"operation": "databases.create_or_update", "seconds": 1})
    rows: list[Figure] = []
    for name, operation, target in (
        ("repatriation, switch after seeding", ours, f"< {seeding_seconds:g} s"),
        ("repatriation, naive (standby stopped first)", naive, "—"),
    ):
        if operation.state != "succeeded":
            raise RuntimeError(f"{name}: #{operation.pk} {operation.error_message}")
        done = DrRepatriation.objects.get(operation=operation)
        total = (operation.finished_at - operation.started_at).total_seconds()
        rows.append((f"{name}: customer downtime", done.downtime_seconds, "s", target))
        rows.append((f"{name}: start to finish", total, "s", "—"))
    return rows
