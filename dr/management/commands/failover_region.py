"""`manage.py failover_region --region australiaeast --declared-by UPN --reason WHY [--ticket T]
[--wait]`: declare the region down and request its failover, through the same service, checks
and approval as the declare page (a second admin approves on the page or with `approve`)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dr.failover import tier_progress
from dr.outage import outage_evidence
from dr.services import failover_declare
from operations.management_wait import add_wait_arguments, wait_and_print
from operations.services import OperationRefusedError
from portal.management.acting import acting_person


class Command(BaseCommand):
    help = (
        "Declare a region outage and request the failover of its tenants (a second admin approves)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--region", required=True, help="the region that is down")
        parser.add_argument("--declared-by", required=True, metavar="UPN")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--ticket", default="")
        add_wait_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        user = acting_person(options["declared_by"])
        self.stdout.write(outage_evidence(options["region"]).summary())
        try:
            operation = failover_declare(
                region=options["region"],
                reason=options["reason"],
                ticket=options["ticket"],
                declared_by=user,
            )
        except OperationRefusedError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Failover of {operation.subject_label} requested as operation #{operation.pk}; "
            "a second admin must approve it."
        )
        if not options["wait"]:
            return
        try:
            wait_and_print(operation, self.stdout, timeout_seconds=options["wait_timeout"])
        finally:
            operation.refresh_from_db()
            for row in tier_progress(operation):
                self.stdout.write(
                    f"Tier {row['tier']}: {row['done']} done, {row['running']} running, "
                    f"{row['queued']} queued, {row['failed']} failed of {row['planned']}."
                )
