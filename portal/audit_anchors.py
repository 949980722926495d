"""Anchors: the audit chain's length and head hash, recorded outside the database.

Someone with write access to the database but without AUDIT_MAC_KEY cannot forge an event, but
can delete the newest ones: what remains is still a valid chain. An anchor taken earlier says how
long the chain was and which event was its head then, so verification against it shows the removed
tail. Anchors go to the log (logger `portal.audit.anchor`, shipped with the rest of the portal's
logs, e.g. to Application Insights) and, when AUDIT_ANCHOR_FILE is set, are appended to
that file, one JSON line each, with a MAC so that a line cannot be forged without the key.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.db import transaction

from portal.audit import GENESIS_HASH, event_mac, mac_key
from portal.models import AuditChainHead, AuditEvent

logger = logging.getLogger("portal.audit.anchor")

_GIVEN = re.compile(r"^\s*(?P<length>\d+)\s*:\s*(?P<hash>[0-9a-f]{64})\s*$")


class AnchorError(ValueError):
    """An anchor that cannot be read or whose MAC does not verify."""


@dataclass(frozen=True)
class AuditAnchor:
    length: int
    head_hash: str
    taken_at: datetime

    def mac(self, key: bytes) -> str:
        return event_mac(
            f"anchor:{self.length}:{self.head_hash}:{self.taken_at.isoformat()}".encode(), key
        )

    def to_line(self) -> str:
        return json.dumps(
            {
                "length": self.length,
                "head_hash": self.head_hash,
                "taken_at": self.taken_at.isoformat(),
                "mac": self.mac(mac_key()),
            },
            sort_keys=True,
        )

    @classmethod
    def from_line(cls, line: str) -> AuditAnchor:
        try:
            data = json.loads(line)
            anchor = cls(
                length=int(data["length"]),
                head_hash=str(data["head_hash"]),
                taken_at=datetime.fromisoformat(data["taken_at"]),
            )
            mac = str(data["mac"])
        except (ValueError, KeyError, TypeError) as exc:
            raise AnchorError(f"not an anchor record: {exc}") from exc
        if not hmac.compare_digest(anchor.mac(mac_key()), mac):
            raise AnchorError("its MAC does not verify (forged, edited, or another key)")
        return anchor

    @classmethod
    def from_given(cls, text: str) -> AuditAnchor:
        """`LENGTH:HEAD_HASH`, as the anchor log record shows it (e.g. found in Application
        Insights); no MAC, since the person giving it vouches for where it came from."""
        match = _GIVEN.match(text)
        if match is None:
            raise AnchorError(
                f"{text!r} is not LENGTH:HEAD_HASH (a number, a colon, 64 lower-case hex digits)"
            )
        return cls(int(match["length"]), match["hash"], taken_at=datetime.now(UTC))


def audit_anchor_take() -> AuditAnchor:
    """The chain's length and head now, from the head row appends keep in step with the events."""
    with transaction.atomic():
        head = AuditChainHead.objects.filter(pk=AuditChainHead.SINGLETON).first()
        if head is not None:
            return AuditAnchor(head.length, head.head_hash, taken_at=datetime.now(UTC))
        # No append since the table was created or flushed: read the events themselves.
        last = AuditEvent.objects.order_by("-id").only("hash").first()
        return AuditAnchor(
            AuditEvent.objects.count(),
            last.hash if last else GENESIS_HASH,
            taken_at=datetime.now(UTC),
        )


def audit_anchor(*, file: str | Path | None = None) -> AuditAnchor:
    """Take an anchor and record it in the log and, if given, appended to `file`."""
    anchor = audit_anchor_take()
    logger.info(
        "audit chain anchor %d:%s taken_at=%s",
        anchor.length,
        anchor.head_hash,
        anchor.taken_at.isoformat(),
        # Custom dimensions in Application Insights, so anchors can be queried by field.
        extra={"audit_chain_length": anchor.length, "audit_chain_head": anchor.head_hash},
    )
    if file:
        _append_line(Path(file), anchor.to_line())
    return anchor


def _append_line(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND: concurrent writers (beat and a person running the command) never interleave a line.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, (line + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def anchors_from_file(path: str | Path) -> list[AuditAnchor]:
    """Every anchor in an anchor file, oldest first; any unreadable or forged line is an error."""
    anchors: list[AuditAnchor] = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            anchors.append(AuditAnchor.from_line(line))
        except AnchorError as exc:
            raise AnchorError(f"{path}, line {number}: {exc}") from exc
    return anchors
