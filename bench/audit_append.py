"""The audit append's cost next to the naive way, measured in the same run on the same database.

Ours: lock the head row, link, HMAC-SHA256, insert, move the head (portal.audit.audit_record).
Naive: what the unkeyed release did, lock the newest event, link, plain SHA-256, insert; it forks
under concurrent writers on a server database (tests/portal/test_audit_concurrency.py shows it
on PostgreSQL). Both run inside one transaction that is rolled back, so the chain stays as it was
and the figures compare the work per append, not the commit (the committed rate is measured
separately in bench/__main__.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from django.db import transaction

from portal.audit import GENESIS_HASH, audit_record, event_payload, unkeyed_hash
from portal.models import AuditEvent


def _naive_append(n: int) -> None:
    with transaction.atomic():
        last = AuditEvent.objects.select_for_update().order_by("-id").only("hash").first()
        prev_hash = last.hash if last else GENESIS_HASH
        fields = {
            "created_at": datetime.now(UTC), "actor_id": None, "actor": "",
            "action": "bench.naive", "tenant": "bench", "request_id": "", "source_ip": None,
            "outcome": "success", "details": {"n": n},
        }  # fmt: skip
        payload = event_payload(prev_hash=prev_hash, **fields)  # type: ignore[arg-type]
        AuditEvent(**fields, prev_hash=prev_hash, hash=unkeyed_hash(payload)).save()


def _our_append(n: int) -> None:
    audit_record(action="bench.event", tenant="bench", details={"n": n})


def _rate(append: Callable[[int], None], count: int) -> float:
    with transaction.atomic():
        started = time.perf_counter()
        for n in range(count):
            append(n)
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return count / elapsed


def append_cost(count: int) -> list[tuple[str, float, str, str]]:
    ours = _rate(_our_append, count)
    naive = _rate(_naive_append, count)
    return [
        ("audit appends/s in one transaction: head-row lock + HMAC", ours, "/s", "≥ 0.5 × naive"),
        ("audit appends/s in one transaction: naive newest-row lock", naive, "/s", "comparison"),
    ]
