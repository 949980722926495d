from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portal.audit import audit_verify_chain


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; exits non-zero if any event was edited or removed."

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify_chain()
        for chain_break in report.breaks:
            self.stderr.write(f"event {chain_break.event_id}: {chain_break.reason}")
        if not report.intact:
            raise CommandError(
                f"Audit chain broken: {len(report.breaks)} problem(s) in {report.checked} events."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain intact: {report.checked} events checked.")
        )
