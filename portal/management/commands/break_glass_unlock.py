"""`manage.py break_glass_unlock USERNAME --requested-by UPN --reason ...`: lift a break-glass
lockout (every address it applies to), audited with who and why."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.break_glass import break_glass_unlock
from portal.management.acting import acting_person
from portal.roles import UNLOCK_SIGN_IN


class Command(BaseCommand):
    help = "Lift the break-glass sign-in lockout of a username (audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--requested-by", required=True, metavar="UPN")
        parser.add_argument("--reason", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["reason"].strip():
            raise CommandError("--reason must say why: it goes into the audit trail.")
        actor = acting_person(options["requested_by"])
        if not actor.has_perm(UNLOCK_SIGN_IN):
            raise CommandError(
                f"{actor.get_username()} may not lift sign-in lockouts (admins may)."
            )
        addresses = break_glass_unlock(
            username=options["username"], actor=actor, reason=options["reason"].strip()
        )
        if addresses:
            self.stdout.write(
                self.style.SUCCESS(f"Unlocked {options['username']} from {', '.join(addresses)}.")
            )
        else:
            self.stdout.write(f"{options['username']} was not locked out; recorded anyway.")
