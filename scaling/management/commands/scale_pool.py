"""`manage.py scale_pool POOL_ID --capacity N [--per-db-min X] [--per-db-max Y]
--requested-by UPN --reason TEXT [--override REASON] [--yes]`: as the portal's pool form."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from operations.management_wait import add_wait_arguments, wait_and_print
from operations.services import OperationRefusedError
from portal.azure.errors import AzureError
from portal.management.acting import acting_person
from scaling.services import pool_scale_plan, pool_scale_request
from tenants.selectors import sees_every_tenant


class Command(BaseCommand):
    help = "Change an elastic pool's capacity and per-database min/max."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("pool_id")
        parser.add_argument("--capacity", type=int, required=True, help="eDTU or vCores")
        parser.add_argument("--per-db-min", type=float, default=None)
        parser.add_argument("--per-db-max", type=float, default=None)
        parser.add_argument("--override", default="", help="reason to go below the 24 h peak")
        parser.add_argument("--requested-by", required=True, metavar="UPN")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--yes", action="store_true", help="request it (else: plan only)")
        add_wait_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["reason"].strip():
            raise CommandError("--reason must say why: it goes into the audit trail.")
        if options["wait"] and not options["yes"]:
            raise CommandError("--wait follows a requested operation: pass --yes with it.")
        user = acting_person(options["requested_by"])
        if not sees_every_tenant(user):
            # A pool is shared: only people who see every tenant may act on one.
            raise CommandError(f"{options['requested_by']} cannot act on shared pools.")
        try:
            plan = pool_scale_plan(
                pool_id=options["pool_id"],
                target_capacity=options["capacity"],
                per_database_min=options["per_db_min"],
                per_database_max=options["per_db_max"],
                override_reason=options["override"],
            )
            for line in plan.lines:
                self.stdout.write(line)
            if plan.refusals:
                raise CommandError(" ".join(plan.refusals))
            if not options["yes"]:
                self.stdout.write("Plan only: pass --yes to request it.")
                return
            operation = pool_scale_request(requested_by=user, reason=options["reason"], plan=plan)
        except (OperationRefusedError, AzureError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Operation #{operation.pk}: {operation.get_state_display()}.")
        if operation.state == operation.State.AWAITING_APPROVAL:
            self.stdout.write("It costs more than the threshold: a second admin must approve.")
        if options["wait"]:
            wait_and_print(operation, self.stdout, timeout_seconds=options["wait_timeout"])
