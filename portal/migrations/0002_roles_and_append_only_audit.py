"""Creates the three role groups with their permissions, and makes the audit table append-only
in the database itself (triggers), so not even raw SQL through the portal's connection can
rewrite history."""

from __future__ import annotations

from typing import Any

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

GROUP_PERMISSIONS = {
    "Account managers": ("portal.view_tenant",),
    "Support": ("portal.view_tenant", "portal.request_restore"),
    "Admins": (
        "portal.view_tenant",
        "portal.request_restore",
        "portal.approve_operation",
        "portal.scale_tenant",
        "portal.rotate_key",
        "portal.manage_catalogue",
        "portal.view_auditevent",
        "portal.view_staffprofile",
        "portal.change_staffprofile",
    ),
}

SQLITE_TRIGGERS = (
    """CREATE TRIGGER portal_auditevent_no_update BEFORE UPDATE ON portal_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    """CREATE TRIGGER portal_auditevent_no_delete BEFORE DELETE ON portal_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
)
MSSQL_TRIGGERS = (
    """CREATE TRIGGER portal_auditevent_append_only ON portal_auditevent
       INSTEAD OF UPDATE, DELETE AS THROW 50000, 'audit events are append-only', 1""",
)
DROP_SQLITE = (
    "DROP TRIGGER IF EXISTS portal_auditevent_no_update",
    "DROP TRIGGER IF EXISTS portal_auditevent_no_delete",
)
DROP_MSSQL = ("DROP TRIGGER IF EXISTS portal_auditevent_append_only",)


def create_groups(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Permissions are normally created after all migrations (post_migrate); create them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True  # type: ignore[assignment]
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for group_name, names in GROUP_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=group_name)
        for name in names:
            app_label, codename = name.split(".")
            group.permissions.add(
                permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            )


def remove_groups(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("auth", "Group").objects.filter(name__in=GROUP_PERMISSIONS).delete()


def _run(schema_editor: BaseDatabaseSchemaEditor, statements: dict[str, tuple[str, ...]]) -> None:
    for statement in statements.get(schema_editor.connection.vendor, ()):
        schema_editor.execute(statement)


def add_triggers(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _run(schema_editor, {"sqlite": SQLITE_TRIGGERS, "microsoft": MSSQL_TRIGGERS})


def drop_triggers(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _run(schema_editor, {"sqlite": DROP_SQLITE, "microsoft": DROP_MSSQL})


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
        ("tenants", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_groups, remove_groups),
        migrations.RunPython(add_triggers, drop_triggers),
    ]
