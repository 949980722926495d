"""The audit trail's one write path and its integrity check.

Each event stores the previous event's hash and a hash over its own fields plus that link, so
editing, deleting or inserting a row anywhere breaks the chain from that row on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import HttpRequest

from portal.middleware import client_ip, current_request
from portal.models import AuditEvent

GENESIS_HASH = "0" * 64


def _event_hash(
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
) -> str:
    payload = json.dumps(
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
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _stored_hash(event: AuditEvent) -> str:
    return _event_hash(
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
    # Round-trip details through JSON so the hash covers exactly what the database stores.
    clean_details: dict[str, Any] = json.loads(json.dumps(details or {}, cls=DjangoJSONEncoder))
    # Microsecond precision is what both SQLite and Azure SQL (datetime2) keep.
    created_at = datetime.now(UTC)
    with transaction.atomic():
        # Serialise writers on the chain head: SQLite's IMMEDIATE transactions already queue
        # writers; on Azure SQL the row lock on the latest event does the same.
        last = AuditEvent.objects.select_for_update().order_by("-id").only("hash").first()
        prev_hash = last.hash if last else GENESIS_HASH
        fields: dict[str, Any] = {
            "created_at": created_at,
            "actor_id": actor_id,
            "actor": actor_name,
            "action": action,
            "tenant": tenant,
            "request_id": request_id,
            "source_ip": source_ip,
            "outcome": str(outcome),
            "details": clean_details,
        }
        event = AuditEvent(
            **fields, prev_hash=prev_hash, hash=_event_hash(prev_hash=prev_hash, **fields)
        )
        event.save()
    return event


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    checked: int
    breaks: list[ChainBreak]

    @property
    def intact(self) -> bool:
        return not self.breaks


def _events_in_order(batch_size: int = 2000) -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size)


def audit_verify_chain() -> ChainReport:
    """Recompute every hash and link; report each event where the chain no longer holds."""
    breaks: list[ChainBreak] = []
    expected_prev = GENESIS_HASH
    checked = 0
    for event in _events_in_order():
        checked += 1
        if event.prev_hash != expected_prev:
            breaks.append(
                ChainBreak(
                    event.pk, "link to the previous event does not match (row removed or inserted)"
                )
            )
        if _stored_hash(event) != event.hash:
            breaks.append(
                ChainBreak(event.pk, "contents do not match the recorded hash (row edited)")
            )
        expected_prev = event.hash
    return ChainReport(checked=checked, breaks=breaks)
