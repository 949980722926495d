"""Refresh the fleet's snapshots now, in this process (operators and the benchmark)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from monitoring.models import RefreshRun
from monitoring.services import fleet_refresh, refresh_run_execute
from tenants.models import Tenant

KINDS = {
    "hot": RefreshRun.Kind.HOT,
    "backups": RefreshRun.Kind.BACKUPS,
    "posture": RefreshRun.Kind.POSTURE,
    "all": RefreshRun.Kind.TENANT,
}


class Command(BaseCommand):
    help = "Read Azure into the monitoring snapshots now (every tenant, or one with --tenant)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="Only this tenant (its slug).")
        parser.add_argument(
            "--sources",
            choices=sorted(KINDS),
            default=None,
            help="hot (health, metrics, alerts), backups (and 24 h series), posture (every "
            "tenant, not this hour's slice), or all. Default: all for --tenant, else hot.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["tenant"]
        kind = KINDS[options["sources"] or ("all" if slug else "hot")]
        tenants = list(Tenant.objects.exclude(status=Tenant.Status.OFFBOARDED).order_by("pk"))
        if slug:
            tenants = [t for t in tenants if t.slug == slug]
            if not tenants:
                raise CommandError(f"No tenant {slug!r} (or it is offboarded).")
        if kind == RefreshRun.Kind.TENANT:
            run = RefreshRun.objects.create(
                kind=kind, tenant=tenants[0] if slug else None, requested_at=timezone.now()
            )
            run = refresh_run_execute(run=run, tenants=tenants)
        else:
            run = fleet_refresh(kind=kind, tenants=tenants)
        seconds = (
            (run.finished_at - run.started_at).total_seconds()
            if run.finished_at and run.started_at
            else 0.0
        )
        self.stdout.write(
            f"Refreshed {run.tenants} tenants ({run.get_kind_display()}) in {seconds:.1f} s: "
            f"{run.azure_calls} Azure calls, {run.throttled} throttled (retried)."
        )
        for source, reasons in (run.errors or {}).items():
            self.stderr.write(f"  {source} unavailable: {'; '.join(reasons)}")
