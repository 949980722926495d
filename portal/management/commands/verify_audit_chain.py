from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.audit import ChainReport, audit_verify_chain
from portal.audit_anchors import AnchorError, AuditAnchor, anchors_from_file


class Command(BaseCommand):
    help = (
        "Verify the audit trail: every link and keyed MAC, and the anchors recorded outside the "
        "database (a removed tail); exits non-zero on any problem."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--anchor-file",
            default=settings.AUDIT_ANCHOR_FILE,
            help="Anchor file written by anchor_audit_chain (default: AUDIT_ANCHOR_FILE).",
        )
        parser.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="LENGTH:HEAD_HASH",
            help="An anchor as its log record shows it (e.g. from Application Insights); repeatable.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        anchors = self._anchors(options["anchor_file"], options["anchor"])
        report = audit_verify_chain(anchors=anchors)
        for chain_break in report.breaks:
            where = f"event {chain_break.event_id}" if chain_break.event_id else "chain"
            self.stderr.write(f"{where}: {chain_break.reason}")
        if report.checked and not report.keyed and not report.unkeyed:
            self.stderr.write(
                "No event verifies with this AUDIT_MAC_KEY: check that it is the key the chain "
                "was written with before concluding the trail was rewritten."
            )
        if not report.intact:
            raise CommandError(
                f"Audit chain broken: {len(report.breaks)} problem(s) in {report.checked} events."
            )
        self.stdout.write(self.style.SUCCESS(self._summary(report, anchors)))

    def _anchors(self, anchor_file: str, given: list[str]) -> list[AuditAnchor]:
        try:
            anchors = [AuditAnchor.from_given(text) for text in given]
            if anchor_file and Path(anchor_file).exists():
                anchors += anchors_from_file(anchor_file)
            elif anchor_file:
                self.stderr.write(f"No anchor file at {anchor_file} yet.")
        except AnchorError as exc:
            raise CommandError(f"Anchor refused: {exc}") from exc
        return anchors

    @staticmethod
    def _summary(report: ChainReport, anchors: list[AuditAnchor]) -> str:
        summary = f"Audit chain intact: {report.checked} events checked"
        if report.unkeyed:
            summary += f" ({report.unkeyed} from before the keyed MAC, sealed by its cut-over)"
        if anchors:
            last = max(anchors, key=lambda anchor: anchor.length)
            summary += (
                f"; {report.anchors_matched} anchor(s) matched, the last of "
                f"{last.length} events at {last.taken_at:%Y-%m-%d %H:%M:%S}Z."
            )
        else:
            summary += "; no anchor given, so a removed tail cannot be detected."
        return summary
