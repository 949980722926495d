from __future__ import annotations

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Fleet monitoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from monitoring.receivers import refresh_after_operation
        from operations.signals import operation_finished

        operation_finished.connect(refresh_after_operation, dispatch_uid="monitoring.refresh")
