"""Upgrading a database whose events were hashed before the keyed MAC existed."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from portal.audit import (
    GENESIS_HASH,
    KEYED_CUTOVER_ACTION,
    audit_record,
    audit_verify_chain,
    event_payload,
)
from portal.models import AuditChainHead, AuditEvent
from tests.portal.audit_attacker import rewrite_and_rehash

BEFORE_MAC = [("portal", "0006_append_only_audit_on_postgresql")]

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def unkeyed_history(count: int) -> None:
    """Events as the release before the MAC wrote them: plain SHA-256 over the same payload."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_MAC)
    event_model = executor.loader.project_state(BEFORE_MAC).apps.get_model("portal", "AuditEvent")
    prev_hash = GENESIS_HASH
    for n in range(count):
        fields: dict[str, Any] = {
            "created_at": datetime.now(UTC), "actor_id": None, "actor": "old-release",
            "action": "tenant.update", "tenant": "acme", "request_id": "", "source_ip": None,
            "outcome": "success", "details": {"n": n},
        }  # fmt: skip
        event_hash = hashlib.sha256(event_payload(prev_hash=prev_hash, **fields)).hexdigest()
        event_model.objects.create(**fields, prev_hash=prev_hash, hash=event_hash)
        prev_hash = event_hash


def migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_the_upgrade_seals_the_unkeyed_events_with_a_keyed_cut_over_and_appends_continue(
    audit_triggers_lifted_for_flush,
):
    unkeyed_history(3)
    migrate_to_latest()

    cut_over = AuditEvent.objects.order_by("-id").first()
    assert cut_over.action == KEYED_CUTOVER_ACTION
    assert cut_over.details["unkeyed_events"] == 3
    assert AuditChainHead.objects.get().length == 4
    after = audit_record(action="tenant.update", tenant="acme")
    assert after.prev_hash == AuditEvent.objects.order_by("-id")[1].hash
    report = audit_verify_chain()
    assert report.intact, report.breaks
    assert (report.checked, report.unkeyed) == (5, 3)


def test_an_unkeyed_event_rewritten_after_the_upgrade_is_caught_at_the_cut_over(
    audit_triggers_lifted_for_flush,
):
    unkeyed_history(3)
    migrate_to_latest()
    first, _, third, cut_over = AuditEvent.objects.order_by("id")

    # Rewrite the unkeyed history only and point the cut-over at the new last hash.
    rewrite_and_rehash(from_id=first.pk, details={"n": 99}, key=None, until_id=third.pk)
    report = audit_verify_chain()

    assert report.breaks[0].event_id == cut_over.pk
    assert "MAC" in report.breaks[0].reason
    # ... and so the three unkeyed events stand without a valid cut-over.
    assert "no keyed cut-over follows them" in report.breaks[-1].reason


def test_an_upgraded_chain_rewritten_whole_without_the_key_is_caught(
    audit_triggers_lifted_for_flush,
):
    unkeyed_history(3)
    migrate_to_latest()
    audit_record(action="tenant.update", tenant="acme")

    rewrite_and_rehash(from_id=AuditEvent.objects.order_by("id")[0].pk, details={}, key=None)
    report = audit_verify_chain()

    assert report.unkeyed == 5
    assert [b.event_id for b in report.breaks] == [None]
