"""What someone with write access to the portal's database (but not AUDIT_MAC_KEY) can do to the
audit trail: drop the append-only triggers, then rewrite, rehash, relink or delete rows."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
from typing import Any

from django.db import connection

from portal.audit import event_payload
from portal.models import AuditEvent

_SQLITE = importlib.import_module("portal.migrations.0002_roles_and_append_only_audit")
_POSTGRES = importlib.import_module("portal.migrations.0006_append_only_audit_on_postgresql")


def drop_append_only_triggers() -> None:
    statements = {"sqlite": _SQLITE.DROP_SQLITE, "postgresql": _POSTGRES.DROP_POSTGRES}
    with connection.cursor() as cursor:
        for statement in statements[connection.vendor]:
            cursor.execute(statement)


def execute(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def guessed_hash(payload: bytes, key: bytes | None) -> str:
    """The attacker's best effort: plain SHA-256 (as the unkeyed release did) or a guessed key."""
    if key is None:
        return hashlib.sha256(payload).hexdigest()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def rewrite_and_rehash(
    *,
    from_id: int,
    details: dict[str, object] | None,
    key: bytes | None = None,
    until_id: int | None = None,
) -> None:
    """Edit one event's details, then recompute its hash and every later event's link and hash
    (up to `until_id`, after which only the next event's link is redirected) and the head row,
    so the chain is consistent again as far as links go."""
    drop_append_only_triggers()
    prev_hash: str | None = None
    for event in AuditEvent.objects.filter(id__gte=from_id).order_by("id"):
        if until_id is not None and event.pk > until_id:
            execute(
                "UPDATE portal_auditevent SET prev_hash = %s WHERE id = %s", [prev_hash, event.pk]
            )
            break
        if details is not None and event.pk == from_id:
            event.details = details
        if prev_hash is not None:
            event.prev_hash = prev_hash
        payload = event_payload(
            prev_hash=event.prev_hash, created_at=event.created_at, actor_id=event.actor_id,
            actor=event.actor, action=event.action, tenant=event.tenant,
            request_id=event.request_id, source_ip=event.source_ip, outcome=event.outcome,
            details=event.details,
        )  # fmt: skip
        new_hash = guessed_hash(payload, key)
        # Unique links: move the row's link out of the way first, as an attacker would.
        execute(
            "UPDATE portal_auditevent SET prev_hash = %s, hash = %s, details = %s WHERE id = %s",
            [f"tmp-{event.pk}", f"tmp-{event.pk}", json.dumps(event.details), event.pk],
        )
        execute(
            "UPDATE portal_auditevent SET prev_hash = %s, hash = %s WHERE id = %s",
            [event.prev_hash, new_hash, event.pk],
        )
        prev_hash = new_hash
    fix_head_row()


def remove_newest(count: int) -> None:
    """Delete the newest events and make the head row agree: a shorter, valid chain is left."""
    drop_append_only_triggers()
    newest = list(AuditEvent.objects.order_by("-id").values_list("id", flat=True)[:count])
    for event_id in newest:
        execute("DELETE FROM portal_auditevent WHERE id = %s", [event_id])
    fix_head_row()


def fix_head_row() -> None:
    last = AuditEvent.objects.order_by("-id").first()
    execute(
        "UPDATE portal_auditchainhead SET length = %s, head_hash = %s",
        [AuditEvent.objects.count(), last.hash if last else "0" * 64],
    )
