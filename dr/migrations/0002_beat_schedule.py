"""The hourly readiness check as a django-celery-beat row (changeable in the admin), ten minutes
after the backups refresh (monitoring, minute 7) so it reads fresh geo-backup times."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import migrations

NAME = "dr: readiness for Australia Southeast"


def create(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = crontab_model.objects.get_or_create(
        minute="17", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    task_model.objects.update_or_create(
        name=NAME,
        defaults={
            "task": "dr.refresh_readiness",
            "crontab": crontab,
            "start_time": datetime(2020, 1, 1, tzinfo=UTC),
            "enabled": True,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dr", "0001_readiness"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
