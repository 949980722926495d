from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.core.management import call_command
from django.db.models.signals import post_migrate


class PortalAdminConfig(admin_apps.AdminConfig):
    """Django admin with the Fleetwise Ops site as `admin.site`."""

    default = False
    default_site = "portal.admin_site.FleetwiseAdminSite"


class PortalConfig(AppConfig):
    default = True
    name = "portal"
    verbose_name = "Fleetwise Ops"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_create_cache_table, sender=self)


def _create_cache_table(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """The database cache's table (settings.CACHES["shared"]) comes with `migrate`, so no
    deployment step can forget it; createcachetable leaves an existing table alone."""
    call_command("createcachetable", database=using, verbosity=0)
