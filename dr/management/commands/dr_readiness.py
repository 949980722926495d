"""Work out every tenant's readiness for a failover to Australia Southeast now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from dr.models import DrReadiness
from dr.services import readiness_refresh


class Command(BaseCommand):
    help = (
        "Read what stands ready in Australia Southeast for every tenant (geo backups, paired "
        "pools, standby sites, keys) and record each tenant's DR readiness and its gaps."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--gaps", action="store_true", help="List every tenant's gaps.")

    def handle(self, *args: Any, **options: Any) -> None:
        summary = readiness_refresh()
        self.stdout.write(
            f"{summary.ready} of {summary.tenants} tenants DR ready "
            f"({summary.azure_calls} Azure calls)."
        )
        if options["gaps"]:
            for row in DrReadiness.objects.filter(ready=False).select_related("tenant"):
                for gap in row.gaps:
                    self.stdout.write(f"{row.tenant.slug}: {gap}")
