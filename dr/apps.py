from __future__ import annotations

from django.apps import AppConfig


class DrConfig(AppConfig):
    name = "dr"
    verbose_name = "Disaster recovery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dr.drills import register_kinds as register_drills

        register_drills()

        from dr.failover import register_kinds as register_failover

        register_failover()

        from dr.repatriation import register_kinds as register_repatriation

        register_repatriation()

        from dr.receivers import readiness_after_backups
        from monitoring.signals import backups_refreshed

        backups_refreshed.connect(readiness_after_backups, dispatch_uid="dr.readiness")
