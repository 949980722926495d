from __future__ import annotations

from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "backups"
    verbose_name = "Backups and restores"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from backups import restores

        restores.register_kinds()
