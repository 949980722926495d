"""The audit chain gets a head row that appends lock, a unique previous-hash link (no fork even if
a writer bypasses the lock), and from here on a keyed MAC instead of a plain SHA-256.

Events already recorded keep their plain hashes (the table is append-only). If there are any, a
cut-over event `audit.chain.keyed` is appended with the keyed MAC: it links to the last unkeyed
event, so that event and (through the links) all before it are sealed under the key from now on,
and verification accepts unkeyed hashes only before it. docs/audit.md explains the consequences.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

_TRIGGERS = importlib.import_module("portal.migrations.0002_roles_and_append_only_audit")
GENESIS_HASH = "0" * 64
KEYED_CUTOVER_ACTION = "audit.chain.keyed"


def refuse_a_forked_chain(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Two events following the same one (a fork from the old, racy append) cannot be made
    unique by a migration: the rows are append-only. Say which rows instead of a bare error."""
    event_model = apps.get_model("portal", "AuditEvent")
    forked = (
        event_model.objects.values("prev_hash")
        .annotate(followers=models.Count("id"))
        .filter(followers__gt=1)
        .values_list("prev_hash", flat=True)
    )
    ids = list(event_model.objects.filter(prev_hash__in=list(forked)).values_list("id", flat=True))
    if ids:
        raise RuntimeError(
            f"The audit chain is forked: events {ids} follow the same previous event, so the "
            "previous-hash link cannot be made unique. Export the audit trail, keep it as the "
            "record, and see docs/audit.md ('A forked chain') before migrating."
        )


def sqlite_triggers_back(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # SQLite alters a column by copying the table, which loses the table's triggers.
    if schema_editor.connection.vendor == "sqlite":
        for statement in _TRIGGERS.DROP_SQLITE + _TRIGGERS.SQLITE_TRIGGERS:
            schema_editor.execute(statement)


def head_and_keyed_cut_over(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    from portal.audit import event_mac, event_payload

    event_model = apps.get_model("portal", "AuditEvent")
    head_model = apps.get_model("portal", "AuditChainHead")
    last = event_model.objects.order_by("-id").first()
    length = event_model.objects.count()
    head_hash = last.hash if last else GENESIS_HASH
    if last is not None:
        fields: dict[str, Any] = {
            "prev_hash": last.hash,
            "created_at": datetime.now(UTC),
            "actor_id": None,
            "actor": "",
            "action": KEYED_CUTOVER_ACTION,
            "tenant": "",
            "request_id": "",
            "source_ip": None,
            "outcome": "success",
            "details": {"unkeyed_events": length, "unkeyed_head": last.hash},
        }
        mac = event_mac(event_payload(**fields), str(settings.AUDIT_MAC_KEY).encode())
        event_model.objects.create(**fields, hash=mac)
        length, head_hash = length + 1, mac
    head_model.objects.create(id=1, length=length, head_hash=head_hash)


class Migration(migrations.Migration):
    dependencies = [("portal", "0006_append_only_audit_on_postgresql")]

    operations = [
        migrations.RunPython(refuse_a_forked_chain, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(max_length=64, unique=True),
        ),
        migrations.RunPython(sqlite_triggers_back, migrations.RunPython.noop),
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                ("length", models.BigIntegerField(default=0)),
                ("head_hash", models.CharField(max_length=64)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("id", 1)), name="auditchainhead_single_row"
                    )
                ],
            },
        ),
        # The cut-over event is an audit event and cannot be removed: nothing to reverse.
        migrations.RunPython(head_and_keyed_cut_over, migrations.RunPython.noop),
    ]
