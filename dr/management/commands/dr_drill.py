"""`manage.py dr_drill --tenant SLUG [--tenant SLUG ...] --requested-by UPN --reason WHY
[--wait]`: the same service, checks and audit as the DR page's drill form."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dr.drills import DrillRefusedError, drill_request
from dr.models import DrDrill
from operations.management_wait import add_wait_arguments, wait_and_print
from portal.management.acting import acting_person, tenant_seen_by


class Command(BaseCommand):
    help = "Run a DR drill of one tenant or several (it runs on the Celery workers)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tenant", action="append", required=True, metavar="SLUG", help="repeat for several"
        )
        parser.add_argument("--requested-by", required=True, metavar="UPN")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--ticket", default="")
        add_wait_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["reason"].strip():
            raise CommandError("--reason must say why: it goes into the audit trail.")
        user = acting_person(options["requested_by"])
        tenants = [
            tenant_seen_by(user, slug, requested_by=options["requested_by"])
            for slug in dict.fromkeys(options["tenant"])
        ]
        try:
            operation = drill_request(
                tenants=tenants, user=user, reason=options["reason"], ticket=options["ticket"]
            )
        except DrillRefusedError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"DR drill of {', '.join(t.slug for t in tenants)} requested as operation "
            f"#{operation.pk}."
        )
        if not options["wait"]:
            return
        wait_and_print(operation, self.stdout, timeout_seconds=options["wait_timeout"])
        for drill in DrDrill.objects.filter(
            tenant__in=tenants, requested_at__gte=operation.created_at
        ).select_related("tenant"):
            rpo = (
                f"{drill.rpo_seconds / 60:.0f} min" if drill.rpo_seconds is not None else "unknown"
            )
            self.stdout.write(
                f"{drill.tenant.slug}: RTO {drill.rto_seconds:.0f} s, RPO {rpo}; deletion of "
                f"{drill.database_name} awaits approval as #{drill.teardown_operation_id}."
            )
