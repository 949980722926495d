from __future__ import annotations

from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "keys"
    verbose_name = "TDE key rotation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from keys import rotation

        rotation.register_kinds()
