from __future__ import annotations

from django.apps import AppConfig


class ScalingConfig(AppConfig):
    name = "scaling"
    verbose_name = "Scaling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from scaling import kinds

        kinds.register_kinds()
