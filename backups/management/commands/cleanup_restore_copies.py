"""`manage.py cleanup_restore_copies --requested-by UPN`: request the deletion of every restore
copy and pre-restore database past its keep-until date. Nothing is deleted until a second admin
approves each request (Operations in the portal)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from backups.restore_time import describe
from backups.services import (
    RestoreRefusedError,
    expired_restore_copies,
    restore_cleanup_request,
)
from operations.management_wait import add_wait_arguments, wait_and_print
from operations.models import Operation
from portal.management.acting import acting_person
from portal.times import portal_zone


class Command(BaseCommand):
    help = "Request approval-gated deletion of expired restore copies."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--requested-by", required=True, metavar="UPN")
        parser.add_argument(
            "--dry-run", action="store_true", help="list what has expired, request nothing"
        )
        add_wait_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        user = acting_person(options["requested_by"])
        zone = portal_zone()
        copies = expired_restore_copies()
        requested: list[Operation] = []
        if not copies:
            self.stdout.write("No restore copies have expired.")
        for copy in copies:
            line = f"{copy.tenant.slug}: {copy.database_name} ({copy.role}, kept until {describe(copy.keep_until, zone)})"
            if options["dry_run"]:
                self.stdout.write(line)
                continue
            try:
                operation = restore_cleanup_request(
                    copy=copy, user=user, reason=f"Expired {copy.role} {copy.database_name}"
                )
            except RestoreRefusedError as exc:
                self.stdout.write(f"{line}: not requested: {exc.message}")
                continue
            self.stdout.write(f"{line}: operation #{operation.pk} awaits a second admin's approval")
            requested.append(operation)
        if options["wait"]:
            # One after the other: each needs its own approval; the first failure ends it.
            for operation in requested:
                wait_and_print(operation, self.stdout, timeout_seconds=options["wait_timeout"])
