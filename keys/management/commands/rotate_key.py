"""`manage.py rotate_key SLUG | --all --requested-by UPN --reason TEXT`: the same requests,
locks, approvals and audit as the portal's rotate button, for people at a terminal."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import Http404

from keys.services import key_rotation_fleet_request, key_rotation_request
from operations.management_wait import add_wait_arguments, wait_and_print
from operations.services import OperationRefusedError
from portal.azure.errors import AzureError
from portal.management.acting import acting_person
from tenants.selectors import tenant_for_user, tenants_visible_to


class Command(BaseCommand):
    help = "Request rotating a tenant's TDE key, or every tenant's (--all) as one batch."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", nargs="?", default="")
        parser.add_argument("--all", action="store_true", help="every tenant, as one batch")
        parser.add_argument("--requested-by", required=True, metavar="UPN")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--ticket", default="")
        parser.add_argument(
            "--max-running", type=int, default=None, help="batch: rotations at once"
        )
        add_wait_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["reason"].strip():
            raise CommandError("--reason must say why: it goes into the audit trail.")
        if bool(options["slug"]) == bool(options["all"]):
            raise CommandError("Name one tenant, or pass --all (not both).")
        user = acting_person(options["requested_by"])
        try:
            if options["all"]:
                operation = key_rotation_fleet_request(
                    tenants=tenants_visible_to(user),
                    requested_by=user,
                    reason=options["reason"],
                    max_running=options["max_running"],
                )
            else:
                tenant = tenant_for_user(user, options["slug"])
                operation = key_rotation_request(
                    tenant=tenant,
                    requested_by=user,
                    reason=options["reason"],
                    ticket=options["ticket"],
                )
        except (PermissionDenied, Http404) as exc:
            raise CommandError(
                f"{options['requested_by']} cannot see a tenant {options['slug']!r}."
            ) from exc
        except (OperationRefusedError, AzureError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Operation #{operation.pk}: {operation.subject_label} — {operation.get_state_display()}."
        )
        if operation.state == operation.State.AWAITING_APPROVAL:
            self.stdout.write("It needs a second admin's approval before it runs.")
        if options["wait"]:
            wait_and_print(operation, self.stdout, timeout_seconds=options["wait_timeout"])
