"""Admins may list what the portal sent (notifications.view_delivery)."""

from __future__ import annotations

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def _permission(apps: Apps) -> object:
    # Permissions are normally created after all migrations; this one is needed now.
    app_config = apps.get_app_config("notifications")
    app_config.models_module = True  # type: ignore[assignment]
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    return apps.get_model("auth", "Permission").objects.get(
        content_type__app_label="notifications", codename="view_delivery"
    )


def grant(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    permission = _permission(apps)
    for group in apps.get_model("auth", "Group").objects.filter(name="Admins"):
        group.permissions.add(permission)


def revoke(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    permission = _permission(apps)
    for group in apps.get_model("auth", "Group").objects.filter(name="Admins"):
        group.permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_deliveries_and_preferences"),
        ("portal", "0002_roles_and_append_only_audit"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
