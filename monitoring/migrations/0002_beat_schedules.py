"""The refresh schedules as django-celery-beat rows, so operators can change them in the admin.

Hot sources every 2 minutes (keep MONITORING_HOT_INTERVAL_SECONDS equal: staleness is two
intervals), backups and 24 h series hourly, posture hourly on a 24th of the fleet each time (so
every tenant daily, spread over the day). A start time in the past makes beat run each task at
once on its first start, so a fresh demo has statuses within a minute.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import migrations

SCHEDULES = (
    (
        "monitoring: hot sources",
        "monitoring.refresh_hot",
        {"every": 120, "period": "seconds"},
        None,
    ),
    ("monitoring: backups and 24 h series", "monitoring.refresh_backups", None, "7"),
    ("monitoring: posture (a 24th of the fleet)", "monitoring.refresh_posture", None, "37"),
)


def create(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    started = datetime(2020, 1, 1, tzinfo=UTC)
    for name, task, interval, minute in SCHEDULES:
        schedule = {}
        if interval:
            schedule["interval"], _ = interval_model.objects.get_or_create(**interval)
        else:
            schedule["crontab"], _ = crontab_model.objects.get_or_create(
                minute=minute, hour="*", day_of_week="*", day_of_month="*",
                month_of_year="*", timezone="UTC",
            )  # fmt: skip
        task_model.objects.update_or_create(
            name=name, defaults={"task": task, "start_time": started, "enabled": True, **schedule}
        )


def remove(apps, schema_editor):
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    task_model.objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0001_snapshots"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
