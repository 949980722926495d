"""Appends from several processes at once: no fork, no lost event, and a chain that verifies.
Runs on SQLite and again on PostgreSQL (real row locks and concurrent writers)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction

from portal.audit import audit_record, audit_verify_chain
from portal.models import AuditChainHead, AuditEvent
from tests.portal.audit_attacker import execute
from tests.postgres import child_process_database_env

BASE = Path(__file__).resolve().parents[2]
WRITERS = 4
EVENTS_EACH = 25

pytestmark = pytest.mark.postgres


@pytest.mark.django_db(transaction=True)
def test_appends_from_several_processes_at_once_form_one_intact_chain(
    audit_triggers_lifted_for_flush, tmp_path
):
    audit_record(action="test.before")
    env = {
        **os.environ,
        "PORTAL_ENVIRONMENT": "test",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        **child_process_database_env(),
    }
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.portal.audit_writer", str(EVENTS_EACH), str(tmp_path)],
            cwd=BASE,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        for _ in range(WRITERS)
    ]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < WRITERS and time.monotonic() < deadline:
        assert all(writer.poll() is None for writer in writers), "a writer died while starting"
        time.sleep(0.05)
    (tmp_path / "go").touch()
    for writer in writers:
        output, _ = writer.communicate(timeout=120)
        assert writer.returncode == 0, output.decode(errors="replace")

    total = 1 + WRITERS * EVENTS_EACH
    assert AuditEvent.objects.count() == total
    assert AuditEvent.objects.values("prev_hash").distinct().count() == total
    # The writers really interleaved (otherwise this test proves nothing about concurrency).
    writer_order = [
        e.details["writer"]
        for e in AuditEvent.objects.filter(action="test.concurrent").order_by("id")
    ]
    switches = sum(1 for a, b in zip(writer_order, writer_order[1:], strict=False) if a != b)
    assert switches >= WRITERS
    report = audit_verify_chain()
    assert report.intact, report.breaks
    assert report.checked == total
    head = AuditChainHead.objects.get()
    assert (head.length, head.head_hash) == (total, AuditEvent.objects.order_by("-id")[0].hash)


@pytest.mark.django_db
def test_the_database_refuses_a_second_event_after_the_same_one():
    first = audit_record(action="test.first")
    with pytest.raises(IntegrityError), transaction.atomic():
        execute(
            "INSERT INTO portal_auditevent (created_at, actor, action, tenant, request_id, "
            "outcome, details, prev_hash, hash) VALUES (%s, '', 'fork', '', '', 'success', "
            "'{}', %s, %s)",
            [first.created_at, first.prev_hash, "f" * 64],
        )
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db
def test_an_append_after_a_writer_that_bypassed_the_head_lock_links_after_it_instead_of_forking():
    audit_record(action="test.first")
    head = AuditChainHead.objects.get()
    # What an older release does during a rolling deploy: append after the newest event
    # without taking (or moving) the head row.
    rogue = AuditEvent(
        created_at=AuditEvent.objects.get().created_at, action="test.rogue", outcome="success",
        prev_hash=head.head_hash, hash="e" * 64,
    )  # fmt: skip
    rogue.save()
    assert AuditChainHead.objects.get().head_hash != rogue.hash

    event = audit_record(action="test.after")

    assert event.prev_hash == rogue.hash
    head = AuditChainHead.objects.get()
    assert (head.length, head.head_hash) == (3, event.hash)
