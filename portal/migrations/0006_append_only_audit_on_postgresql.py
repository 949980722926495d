"""The audit table's append-only triggers on PostgreSQL too. The portal runs on SQLite or Azure
SQL; PostgreSQL is where the test suite checks behaviour under real concurrent writers, and there
the table must refuse rewrites just as it does in production."""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

POSTGRES_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION portal_auditevent_append_only() RETURNS trigger
       LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$""",
    """CREATE TRIGGER portal_auditevent_append_only BEFORE UPDATE OR DELETE ON portal_auditevent
       FOR EACH ROW EXECUTE FUNCTION portal_auditevent_append_only()""",
)
DROP_POSTGRES = (
    "DROP TRIGGER IF EXISTS portal_auditevent_append_only ON portal_auditevent",
    "DROP FUNCTION IF EXISTS portal_auditevent_append_only()",
)


def add_triggers(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_TRIGGERS:
            schema_editor.execute(statement)


def drop_triggers(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP_POSTGRES:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("portal", "0005_triage_alerts")]

    operations = [migrations.RunPython(add_triggers, drop_triggers)]
