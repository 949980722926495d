"""`manage.py scale_tenant SLUG --plan SKU --instances N | --to-pool POOL_ID | --to-sku SLO
--requested-by UPN --reason TEXT [--override REASON] [--yes]`: the same plan, guard rails,
approvals and audit as the portal's scaling forms."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from operations.management_wait import add_wait_arguments, wait_and_print
from operations.services import OperationRefusedError
from portal.azure.errors import AzureError
from portal.management.acting import acting_person, tenant_seen_by
from scaling.services import (
    database_move_plan,
    database_move_request,
    plan_scale_plan,
    plan_scale_request,
)


class Command(BaseCommand):
    help = "Scale a tenant's App Service plan, or move its database to another pool or SLO."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--plan", default="", metavar="SKU", help="e.g. P2v3")
        parser.add_argument("--instances", type=int, default=0)
        parser.add_argument("--to-pool", default="", metavar="POOL_ID")
        parser.add_argument("--to-sku", default="", metavar="SLO", help="out of the pool, e.g. S3")
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
        chosen = [bool(options["plan"]), bool(options["to_pool"]), bool(options["to_sku"])]
        if sum(chosen) != 1:
            raise CommandError("Choose one of --plan (with --instances), --to-pool or --to-sku.")
        user = acting_person(options["requested_by"])
        tenant = tenant_seen_by(user, options["slug"], requested_by=options["requested_by"])
        try:
            if options["plan"]:
                plan = plan_scale_plan(
                    tenant=tenant,
                    target_sku=options["plan"],
                    target_instances=options["instances"] or 1,
                    override_reason=options["override"],
                )
                request = plan_scale_request
            else:
                plan = database_move_plan(
                    tenant=tenant,
                    to_pool_id=options["to_pool"],
                    sku_name=options["to_sku"],
                    override_reason=options["override"],
                )
                request = database_move_request
            for line in plan.lines:
                self.stdout.write(line)
            if plan.refusals:
                raise CommandError(" ".join(plan.refusals))
            if not options["yes"]:
                self.stdout.write("Plan only: pass --yes to request it.")
                return
            operation = request(
                tenant=tenant, requested_by=user, reason=options["reason"], plan=plan
            )
        except (OperationRefusedError, AzureError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Operation #{operation.pk}: {operation.get_state_display()}.")
        if operation.state == operation.State.AWAITING_APPROVAL:
            self.stdout.write("It costs more than the threshold: a second admin must approve.")
        if options["wait"]:
            wait_and_print(operation, self.stdout, timeout_seconds=options["wait_timeout"])
