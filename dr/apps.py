from __future__ import annotations

from django.apps import AppConfig


class DrConfig(AppConfig):
    name = "dr"
    verbose_name = "Disaster recovery"
    default_auto_field = "django.db.models.BigAutoField"
