"""Support and admins may dismiss or resolve Defender alerts; account managers only read them."""

from __future__ import annotations

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

GROUPS = ("Support", "Admins")


def _permission(apps: Apps) -> object:
    for app_config in apps.get_app_configs():
        app_config.models_module = True  # type: ignore[assignment]
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    return apps.get_model("auth", "Permission").objects.get(
        content_type__app_label="portal", codename="triage_alert"
    )


def grant(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    permission = _permission(apps)
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
        group.permissions.add(permission)


def revoke(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    permission = _permission(apps)
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
        group.permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0004_admins_view_people_and_manage_schedules"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="portalaccess",
            options={
                "default_permissions": (),
                "managed": False,
                "permissions": (
                    ("view_tenant", "Can view fleet and tenant status"),
                    ("request_restore", "Can request database restores"),
                    ("approve_operation", "Can approve another person's operation"),
                    ("scale_tenant", "Can scale App Service plans and databases"),
                    ("rotate_key", "Can rotate Key Vault TDE keys"),
                    ("manage_catalogue", "Can manage the tenant catalogue"),
                    ("triage_alert", "Can dismiss or resolve Defender alerts"),
                ),
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
