"""`manage.py repatriate (--tenant SLUG ... | --tier N) --requested-by UPN --reason WHY
[--ticket T] [--wait [--wait-timeout S]]`: bring tenants home after a failover, through the
same service, checks and audit as the DR page's "Bring home"."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dr.models import DrRepatriation
from dr.repatriation import RepatriationRefusedError, repatriation_request
from dr.selectors import tenants_away_for_user
from operations.management_wait import add_wait_arguments, wait_and_print
from portal.management.acting import acting_person, tenant_seen_by
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Bring failed-over tenants home (it runs on the Celery workers)."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--tenant", action="append", metavar="SLUG", help="repeat for several")
        which.add_argument(
            "--tier", type=int, choices=[1, 2, 3], help="every tenant of this DR tier away"
        )
        parser.add_argument("--requested-by", required=True, metavar="UPN")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--ticket", default="")
        add_wait_arguments(parser)

    def _tenants(self, options: dict[str, Any], user: Any) -> list[Tenant]:
        if options["tier"] is not None:
            tenants = list(tenants_away_for_user(user).filter(dr_tier=options["tier"]))
            if not tenants:
                raise CommandError(f"No tenant of tier {options['tier']} runs away from home.")
            return tenants
        return [
            tenant_seen_by(user, slug, requested_by=options["requested_by"])
            for slug in dict.fromkeys(options["tenant"])
        ]

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["reason"].strip():
            raise CommandError("--reason must say why: it goes into the audit trail.")
        user = acting_person(options["requested_by"])
        tenants = self._tenants(options, user)
        try:
            operation = repatriation_request(
                tenants=tenants, user=user, reason=options["reason"], ticket=options["ticket"]
            )
        except RepatriationRefusedError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Repatriation of {', '.join(t.slug for t in tenants)} requested as operation "
            f"#{operation.pk}."
        )
        if not options["wait"]:
            return
        wait_and_print(operation, self.stdout, timeout_seconds=options["wait_timeout"])
        for done in DrRepatriation.objects.filter(
            tenant__in=tenants, switch_started_at__gte=operation.created_at
        ).select_related("tenant"):
            cleanups = ", ".join(
                f"#{pk}"
                for pk in (done.away_cleanup_operation_id, done.aside_cleanup_operation_id)
                if pk
            )
            self.stdout.write(
                f"{done.tenant.slug}: home on {done.home_database_name}, downtime "
                f"{done.downtime_seconds:.0f} s; deletion of the copies left behind awaits "
                f"approval ({cleanups})."
            )
