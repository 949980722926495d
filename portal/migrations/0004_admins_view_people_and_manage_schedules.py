"""Admins may view users and groups (roles come from Entra ID) and manage Celery beat schedules."""

from __future__ import annotations

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

BEAT_MODELS = (
    "periodictask",
    "intervalschedule",
    "crontabschedule",
    "solarschedule",
    "clockedschedule",
)
ADDED = (
    ("auth", "view_user"),
    ("auth", "view_group"),
    *(
        ("django_celery_beat", f"{action}_{model}")
        for model in BEAT_MODELS
        for action in ("view", "add", "change", "delete")
    ),
)


def grant(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    for app_config in apps.get_app_configs():
        app_config.models_module = True  # type: ignore[assignment]
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    group = apps.get_model("auth", "Group").objects.get(name="Admins")
    permission_model = apps.get_model("auth", "Permission")
    for app_label, codename in ADDED:
        group.permissions.add(
            permission_model.objects.get(content_type__app_label=app_label, codename=codename)
        )


def revoke(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    group = apps.get_model("auth", "Group").objects.get(name="Admins")
    permission_model = apps.get_model("auth", "Permission")
    for app_label, codename in ADDED:
        group.permissions.remove(
            permission_model.objects.get(content_type__app_label=app_label, codename=codename)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0003_entra_identity"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
