"""The audit trail's one write path and its integrity check.

Each event stores the previous event's hash and a keyed MAC (HMAC-SHA256, key AUDIT_MAC_KEY from
the environment, never in the database) over its own fields plus that link, so editing, deleting
or inserting a row anywhere breaks the chain from that row on, and someone who can write to the
database but does not hold the key cannot recompute it. Anchors (portal.audit_anchors) record the
chain's length and head outside the database so that a removed tail shows too. docs/audit.md says
exactly what is and is not detected.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from portal.log_context import current_request
from portal.middleware import client_ip
from portal.models import AuditChainHead, AuditEvent

if TYPE_CHECKING:
    from portal.audit_anchors import AuditAnchor

GENESIS_HASH = "0" * 64
# Recorded once, by migration 0007, after the events an earlier release hashed without a key.
KEYED_CUTOVER_ACTION = "audit.chain.keyed"
# A unique-constraint violation means another writer linked to the same head without the lock
# (an older release during a rolling deploy, or two writers creating the head row at once).
APPEND_ATTEMPTS = 5


def mac_key() -> bytes:
    return str(settings.AUDIT_MAC_KEY).encode()


def event_payload(
    *,
    prev_hash: str,
    created_at: datetime,
    actor_id: int | None,
    actor: str,
    action: str,
    tenant: str,
    request_id: str,
    source_ip: str | None,
    outcome: str,
    details: dict[str, Any],
) -> bytes:
    """The canonical bytes an event's hash covers (unchanged since the unkeyed release)."""
    return json.dumps(
        {
            "prev_hash": prev_hash,
            "created_at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor_id": actor_id,
            "actor": actor,
            "action": action,
            "tenant": tenant,
            "request_id": request_id,
            "source_ip": source_ip,
            "outcome": outcome,
            "details": details,
        },
        sort_keys=True,
        separators=(",", ":"),
        cls=DjangoJSONEncoder,
    ).encode()


def event_mac(payload: bytes, key: bytes) -> str:
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def unkeyed_hash(payload: bytes) -> str:
    """How events were hashed before the keyed MAC; only accepted before the keyed cut-over."""
    return hashlib.sha256(payload).hexdigest()


def _payload_of(event: AuditEvent) -> bytes:
    return event_payload(
        prev_hash=event.prev_hash,
        created_at=event.created_at,
        actor_id=event.actor_id,
        actor=event.actor,
        action=event.action,
        tenant=event.tenant,
        request_id=event.request_id,
        source_ip=event.source_ip,
        outcome=event.outcome,
        details=event.details,
    )


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    actor_name: str = "",
    tenant: str = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Append one event. Request id and source IP come from `request` or the current request."""
    if request is not None:
        request_id = getattr(request, "request_id", "")
        source_ip = client_ip(request)
    else:
        context = current_request.get()
        request_id = context.request_id if context else ""
        source_ip = context.source_ip if context else None
    actor_id: int | None = None
    if actor is not None and actor.is_authenticated:
        actor_id = int(actor.pk)
        actor_name = actor_name or actor.get_username()
    # Round-trip details through JSON so the MAC covers exactly what the database stores.
    clean_details: dict[str, Any] = json.loads(json.dumps(details or {}, cls=DjangoJSONEncoder))
    fields: dict[str, Any] = {
        "actor_id": actor_id,
        "actor": actor_name,
        "action": action,
        "tenant": tenant,
        "request_id": request_id,
        "source_ip": source_ip,
        "outcome": str(outcome),
        "details": clean_details,
    }
    for attempt in range(APPEND_ATTEMPTS):
        try:
            return _append(fields, resync=attempt > 0)
        except IntegrityError:
            if attempt == APPEND_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _append(fields: dict[str, Any], *, resync: bool) -> AuditEvent:
    # A savepoint when the caller holds a transaction, so a lost race rolls back only this try.
    with transaction.atomic():
        head = _locked_head(resync=resync)
        # Microsecond precision is what SQLite, PostgreSQL and Azure SQL (datetime2) all keep.
        event = AuditEvent(created_at=datetime.now(UTC), prev_hash=head.head_hash, **fields)
        event.hash = event_mac(_payload_of(event), mac_key())
        event.save()
        head.length += 1
        head.head_hash = event.hash
        head.save(update_fields=("length", "head_hash", "updated_at"))
    return event


def _locked_head(*, resync: bool) -> AuditChainHead:
    """The head row, locked until the append's transaction ends. Absent (a new or flushed
    database) it is created from the events; re-read from them after a lost race."""
    # No ORDER BY/LIMIT: a plain keyed lookup locks just that row on every backend.
    rows = list(AuditChainHead.objects.select_for_update().filter(pk=AuditChainHead.SINGLETON))
    head = rows[0] if rows else None
    if head is None:
        head = AuditChainHead(pk=AuditChainHead.SINGLETON)
        _head_from_events(head)
        # A concurrent creator makes this insert fail on the primary key: the caller retries.
        head.save(force_insert=True)
    elif resync:
        _head_from_events(head)
    return head


def _head_from_events(head: AuditChainHead) -> None:
    last = AuditEvent.objects.order_by("-id").only("hash").first()
    head.head_hash = last.hash if last else GENESIS_HASH
    head.length = AuditEvent.objects.count()


@dataclass(frozen=True)
class ChainBreak:
    event_id: int | None  # None: the break is about the chain as a whole (e.g. a removed tail)
    reason: str


@dataclass
class ChainReport:
    checked: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)
    unkeyed: int = 0  # events before the keyed cut-over (hashed by an earlier release)
    keyed: int = 0  # events whose MAC verifies with the configured key
    anchors_matched: int = 0

    @property
    def intact(self) -> bool:
        return not self.breaks


def _events_in_order(batch_size: int = 2000) -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size)


def audit_verify_chain(*, anchors: Sequence[AuditAnchor] = ()) -> ChainReport:
    """Recompute every link and MAC; report each event where the chain no longer holds, and,
    given anchors, each anchored position whose event changed and a tail removed since."""
    report = ChainReport()
    walk = _ChainWalk(report, key=mac_key(), anchors={a.length: a for a in anchors})
    for event in _events_in_order():
        walk.check(event)
    walk.finish()
    if anchors:
        last = max(anchors, key=lambda anchor: anchor.length)
        if last.length > report.checked:
            report.breaks.append(
                ChainBreak(
                    None,
                    f"the anchor taken {last.taken_at:%Y-%m-%d %H:%M:%S}Z recorded {last.length} "
                    f"events but the chain now has {report.checked}: the newest "
                    f"{last.length - report.checked} event(s) were removed",
                )
            )
    return report


class _ChainWalk:
    def __init__(self, report: ChainReport, *, key: bytes, anchors: dict[int, AuditAnchor]):
        self.report = report
        self.key = key
        self.anchors = anchors
        self.expected_prev = GENESIS_HASH
        self.keyed_seen = False

    def _break(self, event: AuditEvent, reason: str) -> None:
        self.report.breaks.append(ChainBreak(event.pk, reason))

    def check(self, event: AuditEvent) -> None:
        self.report.checked += 1
        if event.prev_hash != self.expected_prev:
            self._break(
                event, "link to the previous event does not match (row removed or inserted)"
            )
        payload = _payload_of(event)
        if hmac.compare_digest(event_mac(payload, self.key), event.hash):
            if not self.keyed_seen and self.report.unkeyed and event.action != KEYED_CUTOVER_ACTION:
                self._break(event, "unkeyed events precede this one without the keyed cut-over")
            self.keyed_seen = True
            self.report.keyed += 1
        elif not self.keyed_seen and hmac.compare_digest(unkeyed_hash(payload), event.hash):
            self.report.unkeyed += 1
        else:
            self._break(
                event,
                "contents do not match the recorded MAC (row edited, or rewritten without the key)",
            )
        anchor = self.anchors.get(self.report.checked)
        if anchor is not None:
            if hmac.compare_digest(anchor.head_hash, event.hash):
                self.report.anchors_matched += 1
            else:
                self._break(
                    event,
                    f"the anchor taken {anchor.taken_at:%Y-%m-%d %H:%M:%S}Z recorded another "
                    f"event as number {anchor.length} (events replaced or removed before it)",
                )
        self.expected_prev = event.hash

    def finish(self) -> None:
        if self.report.unkeyed and not self.keyed_seen:
            self.report.breaks.append(
                ChainBreak(
                    None,
                    f"{self.report.unkeyed} event(s) carry no keyed MAC and no keyed cut-over "
                    "follows them: the chain was rewritten without the key, or AUDIT_MAC_KEY "
                    "is not the key it was written with",
                )
            )
