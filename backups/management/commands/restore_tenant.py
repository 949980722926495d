"""`manage.py restore_tenant SLUG --at TIME --mode parallel|in-place ...`: the same checks,
approvals and audit as the portal's restore form, for people at a terminal."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backups.restore_time import describe
from backups.services import (
    RestoreRefusedError,
    RestoreRequest,
    restore_plan,
    restore_request,
)
from operations.management_wait import add_wait_arguments, wait_and_print
from portal.management.acting import acting_person, tenant_seen_by
from portal.times import portal_zone


class Command(BaseCommand):
    help = "Request a restore of a tenant's database (it runs on the Celery workers)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument(
            "--at", default="", help="time to restore to, e.g. '2026-11-29 13:30' (local) or with Z"
        )
        parser.add_argument(
            "--utc", action="store_true", help="read --at as UTC instead of PORTAL_TIME_ZONE"
        )
        parser.add_argument("--mode", choices=("parallel", "in-place"), required=True)
        parser.add_argument(
            "--from-ltr", default="", metavar="BACKUP_ID", help="restore a long-term backup"
        )
        parser.add_argument(
            "--from-deleted", default="", metavar="DROPPED_ID", help="restore a deleted database"
        )
        parser.add_argument(
            "--requested-by",
            required=True,
            metavar="UPN",
            help="the person asking (their sign-in name)",
        )
        parser.add_argument("--reason", required=True)
        parser.add_argument("--ticket", default="")
        parser.add_argument("--yes", action="store_true", help="confirm without typing the slug")
        add_wait_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        # Checked before anything is looked up or planned, so a refusal changes nothing.
        if not options["reason"].strip():
            raise CommandError("--reason must say why: it goes into the audit trail.")
        if not options["yes"] and not sys.stdin.isatty():
            raise CommandError(
                "No terminal to type the confirmation in: pass --yes to confirm without typing "
                "the tenant's slug."
            )
        user = acting_person(options["requested_by"])
        tenant = tenant_seen_by(user, options["slug"], requested_by=options["requested_by"])
        source = (
            "long_term_backup"
            if options["from_ltr"]
            else "deleted_database"
            if options["from_deleted"]
            else "point_in_time"
        )
        request = RestoreRequest(
            mode=options["mode"].replace("-", "_"),
            source=source,
            when=options["at"],
            in_utc=options["utc"],
            long_term_backup_id=options["from_ltr"],
            dropped_database_id=options["from_deleted"],
        )
        try:
            plan = restore_plan(tenant=tenant, user=user, request=request)
        except RestoreRefusedError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Restore plan for {tenant.display_name} ({tenant.slug}):")
        for what, finding in plan.checks:
            self.stdout.write(f"  {what}: {finding}")
        for number, label in enumerate(plan.steps, start=1):
            self.stdout.write(f"  {number}. {label}")
        if plan.needs_approval:
            self.stdout.write("  This restore needs a second person's approval before it runs.")
        confirm = tenant.slug if options["yes"] else input(f"Type {tenant.slug} to confirm: ")
        try:
            operation = restore_request(
                tenant=tenant,
                user=user,
                request=request,
                reason=options["reason"],
                ticket=options["ticket"],
                confirm_slug=confirm,
            )
        except RestoreRefusedError as exc:
            raise CommandError(exc.message) from exc
        when = describe(operation.created_at, portal_zone())
        self.stdout.write(
            self.style.SUCCESS(
                f"Operation #{operation.pk} {operation.get_state_display().lower()} at {when}."
            )
        )
        if options["wait"]:
            wait_and_print(operation, self.stdout, timeout_seconds=options["wait_timeout"])
