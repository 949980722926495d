"""Tampering by someone with write access to the portal's database but not AUDIT_MAC_KEY."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.audit import audit_record, audit_verify_chain
from portal.audit_anchors import AnchorError, AuditAnchor, anchors_from_file, audit_anchor
from portal.models import AuditEvent
from portal.tasks import anchor_audit_chain
from tests.portal.audit_attacker import remove_newest, rewrite_and_rehash

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def record(count: int) -> list[AuditEvent]:
    return [
        audit_record(action="tenant.update", tenant="acme", details={"n": n}) for n in range(count)
    ]


def verify(*args: str, err: io.StringIO | None = None) -> str:
    out, err = io.StringIO(), err or io.StringIO()
    try:
        call_command("verify_audit_chain", *args, stdout=out, stderr=err)
    except CommandError as exc:
        raise CommandError(f"{exc}\n{err.getvalue()}") from exc
    return out.getvalue()


@pytest.mark.parametrize(
    "guessed_key", [None, b"insecure-production-only-audit-mac-key"], ids=["sha256", "wrong-key"]
)
def test_a_row_rewritten_with_every_later_hash_recomputed_is_caught(guessed_key):
    events = record(4)
    rewrite_and_rehash(from_id=events[1].pk, details={"n": 99}, key=guessed_key)
    assert AuditEvent.objects.get(pk=events[1].pk).details == {"n": 99}

    report = audit_verify_chain()

    assert not report.intact
    # The links are consistent again; only the MACs give it away, from the rewritten row on.
    assert [b.event_id for b in report.breaks][:3] == [e.pk for e in events[1:]]
    assert all("MAC" in b.reason for b in report.breaks[:3])


def test_a_whole_chain_rewritten_as_plain_sha256_is_not_taken_for_the_unkeyed_history():
    events = record(3)
    rewrite_and_rehash(from_id=events[0].pk, details={"n": 42}, key=None)

    report = audit_verify_chain()

    assert report.unkeyed == 3
    assert [b.event_id for b in report.breaks] == [None]
    assert "no keyed cut-over follows them" in report.breaks[0].reason


def test_removing_the_newest_events_is_caught_against_the_last_anchor(tmp_path):
    anchors = tmp_path / "anchors.jsonl"
    record(3)
    audit_anchor(file=anchors)
    record(2)
    audit_anchor(file=anchors)
    remove_newest(2)

    # Without an anchor what is left is a valid chain: this is exactly what anchors are for.
    assert audit_verify_chain().intact
    report = audit_verify_chain(anchors=anchors_from_file(anchors))

    assert [b.event_id for b in report.breaks] == [None]
    assert "recorded 5 events but the chain now has 3" in report.breaks[0].reason
    assert "newest 2 event(s) were removed" in report.breaks[0].reason
    with pytest.raises(CommandError, match="newest 2 event"):
        verify("--anchor-file", str(anchors))


def test_a_removed_tail_replaced_by_new_events_is_caught_at_the_anchored_position(tmp_path):
    anchors = tmp_path / "anchors.jsonl"
    record(4)
    audit_anchor(file=anchors)
    remove_newest(2)
    replacement = record(3)  # the chain grows past the anchored length again

    report = audit_verify_chain(anchors=anchors_from_file(anchors))

    assert [b.event_id for b in report.breaks] == [replacement[1].pk]
    assert "recorded another event as number 4" in report.breaks[0].reason


def test_an_intact_chain_matches_its_anchors_and_the_command_says_so(tmp_path):
    anchors = tmp_path / "anchors.jsonl"
    record(2)
    call_command("anchor_audit_chain", "--file", str(anchors), stdout=io.StringIO())
    record(2)
    call_command("anchor_audit_chain", "--file", str(anchors), stdout=io.StringIO())
    record(1)

    output = verify("--anchor-file", str(anchors))

    assert (
        "Audit chain intact: 5 events checked; 2 anchor(s) matched, the last of 4 events" in output
    )


def test_without_any_anchor_the_command_says_a_removed_tail_cannot_be_detected():
    record(1)
    assert "no anchor given, so a removed tail cannot be detected" in verify()


def test_an_anchor_copied_from_the_log_can_be_given_on_the_command_line(caplog):
    record(3)
    with caplog.at_level(logging.INFO, logger="portal.audit.anchor"):
        anchor_audit_chain()
    logged = caplog.records[-1]
    assert logged.audit_chain_length == 3
    given = logged.getMessage().split()[3]  # "audit chain anchor LENGTH:HASH taken_at=..."
    remove_newest(1)

    with pytest.raises(CommandError, match="newest 1 event"):
        verify("--anchor", given)


def test_a_forged_or_edited_anchor_line_is_refused(tmp_path):
    anchors = tmp_path / "anchors.jsonl"
    record(3)
    audit_anchor(file=anchors)
    line = json.loads(anchors.read_text())
    # Someone who can edit the file lowers the anchored length to hide a removed tail.
    anchors.write_text(json.dumps({**line, "length": 1}) + "\n")

    with pytest.raises(AnchorError, match="line 1: its MAC does not verify"):
        anchors_from_file(anchors)
    with pytest.raises(CommandError, match="Anchor refused"):
        verify("--anchor-file", str(anchors))


@pytest.mark.parametrize("given", ["3", "3:abc", "x:" + "a" * 64, "3:" + "A" * 64])
def test_a_malformed_anchor_on_the_command_line_is_a_clear_error(given):
    with pytest.raises(AnchorError, match="is not LENGTH:HEAD_HASH"):
        AuditAnchor.from_given(given)
    with pytest.raises(CommandError, match="Anchor refused"):
        verify("--anchor", given)


def test_verifying_with_another_key_fails_every_event_and_says_to_check_the_key(settings):
    record(2)
    settings.AUDIT_MAC_KEY = "another-key-than-the-one-the-chain-was-written-with"
    err = io.StringIO()

    with pytest.raises(CommandError, match="2 problem"):
        verify(err=err)
    assert "No event verifies with this AUDIT_MAC_KEY" in err.getvalue()


def test_beat_anchors_the_chain_on_a_schedule(settings):
    from portal.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["audit-anchor"]
    assert entry["task"] == "portal.anchor_audit_chain" in app.tasks
    assert entry["schedule"] == settings.AUDIT_ANCHOR_INTERVAL_SECONDS == 900


def test_the_anchor_task_appends_to_the_configured_file(settings, tmp_path):
    settings.AUDIT_ANCHOR_FILE = str(tmp_path / "anchors" / "chain.jsonl")
    record(2)
    anchor_audit_chain()
    record(1)
    anchor_audit_chain()

    anchors = anchors_from_file(settings.AUDIT_ANCHOR_FILE)
    assert [a.length for a in anchors] == [2, 3]
    assert anchors[-1].head_hash == AuditEvent.objects.order_by("-id")[0].hash
