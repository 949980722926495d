from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from portal.audit_anchors import audit_anchor


class Command(BaseCommand):
    help = (
        "Record the audit chain's length and head hash outside the database: in the log "
        "(logger portal.audit.anchor) and appended to AUDIT_ANCHOR_FILE or --file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--file",
            default=settings.AUDIT_ANCHOR_FILE,
            help="Anchor file to append to (default: AUDIT_ANCHOR_FILE; none: log only).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        anchor = audit_anchor(file=options["file"] or None)
        where = f" and appended to {options['file']}" if options["file"] else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain anchored: {anchor.length}:{anchor.head_hash} "
                f"at {anchor.taken_at:%Y-%m-%d %H:%M:%S}Z (logged{where})."
            )
        )
