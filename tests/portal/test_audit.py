from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from portal.audit import GENESIS_HASH, audit_record, audit_verify_chain
from portal.models import AuditEvent, AuditTrailImmutableError
from tests.portal.audit_attacker import drop_append_only_triggers, execute

pytestmark = pytest.mark.django_db


def record_three(actor=None):
    return [
        audit_record(action="tenant.update", actor=actor, tenant="acme", details={"n": n})
        for n in range(3)
    ]


def test_each_event_links_to_the_previous_one(admin_user):
    first, second, third = record_three(admin_user)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert third.actor == admin_user.username
    assert third.actor_id == admin_user.pk
    assert audit_verify_chain().intact


def test_an_event_cannot_be_edited_through_the_orm(admin_user):
    event = record_three(admin_user)[0]
    event.action = "something.else"
    with pytest.raises(AuditTrailImmutableError):
        event.save()
    with pytest.raises(AuditTrailImmutableError):
        AuditEvent.objects.filter(pk=event.pk).update(action="something.else")
    with pytest.raises(AuditTrailImmutableError):
        AuditEvent.objects.bulk_update([event], ["action"])
    assert AuditEvent.objects.get(pk=event.pk).action == "tenant.update"


def test_an_event_cannot_be_deleted_through_the_orm(admin_user):
    event = record_three(admin_user)[0]
    with pytest.raises(AuditTrailImmutableError):
        event.delete()
    with pytest.raises(AuditTrailImmutableError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.count() == 3


@pytest.mark.postgres
def test_the_database_itself_refuses_updates_and_deletes():
    event = audit_record(action="tenant.update", tenant="acme")
    for statement in (
        "UPDATE portal_auditevent SET action = 'x' WHERE id = %s",
        "DELETE FROM portal_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "tenant.update"


def _tamper(sql: str, params: list[int | str]) -> None:
    """What someone with direct database rights could do: drop the guard, then rewrite."""
    drop_append_only_triggers()
    execute(sql, params)


def test_the_chain_check_catches_an_edited_row(admin_user):
    events = record_three(admin_user)
    _tamper("UPDATE portal_auditevent SET details = %s WHERE id = %s", ['{"n": 99}', events[1].pk])
    report = audit_verify_chain()
    assert not report.intact
    assert [b.event_id for b in report.breaks] == [events[1].pk]
    assert "edited" in report.breaks[0].reason


def test_the_chain_check_catches_a_removed_row(admin_user):
    events = record_three(admin_user)
    _tamper("DELETE FROM portal_auditevent WHERE id = %s", [events[1].pk])
    report = audit_verify_chain()
    assert [b.event_id for b in report.breaks] == [events[2].pk]
    assert "removed" in report.breaks[0].reason


def test_the_verify_command_fails_on_a_broken_chain_and_passes_on_an_intact_one(admin_user):
    events = record_three(admin_user)
    out = io.StringIO()
    call_command("verify_audit_chain", stdout=out)
    assert "intact: 3 events" in out.getvalue()
    _tamper("UPDATE portal_auditevent SET actor = 'someone-else' WHERE id = %s", [events[0].pk])
    with pytest.raises(CommandError, match="Audit chain broken: 1 problem"):
        call_command("verify_audit_chain", stdout=io.StringIO(), stderr=io.StringIO())


def test_request_id_and_source_ip_come_from_the_request(client, admin_user, settings):
    settings.PORTAL_TRUST_X_FORWARDED_FOR = True
    client.force_login(admin_user)
    client.get(
        "/portal/auditevent/export.csv",
        HTTP_X_REQUEST_ID="req-12345678",
        HTTP_X_FORWARDED_FOR="203.0.113.9:51234, 10.0.0.1",
    )
    event = AuditEvent.objects.get(action="audit.export")
    assert event.request_id == "req-12345678"
    assert event.source_ip == "203.0.113.9"


def test_the_admin_shows_events_read_only(client, admin_user):
    event = audit_record(action="tenant.update", tenant="acme")
    client.force_login(admin_user)
    change_url = f"/portal/auditevent/{event.pk}/change/"
    page = client.get(change_url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.post(change_url, {"action": "x"}).status_code == 403
    assert client.post(f"/portal/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/portal/auditevent/add/").status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "tenant.update"


def test_the_csv_export_follows_the_change_list_filters(client, admin_user):
    audit_record(action="tenant.update", tenant="acme")
    audit_record(action="tenant.update", tenant="globex", outcome=AuditEvent.Outcome.DENIED)
    client.force_login(admin_user)
    response = client.get("/portal/auditevent/export.csv?outcome__exact=denied")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["id", "created_at", "actor", "action"]
    assert [row[4] for row in rows[1:]] == ["globex"]


def test_people_without_the_audit_permission_cannot_read_or_export_it(client, support):
    audit_record(action="tenant.update", tenant="acme")
    client.force_login(support)
    assert client.get("/portal/auditevent/").status_code == 403
    assert client.get("/portal/auditevent/export.csv").status_code == 403


def test_a_request_failing_the_csrf_check_is_refused_and_audited(admin_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post("/tenants/tenant/add/", {"slug": "x"})
    assert response.status_code == 403
    event = AuditEvent.objects.get(action="access.denied")
    assert "CSRF" in event.details["reason"]
