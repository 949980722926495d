from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalAdminConfig(admin_apps.AdminConfig):
    """Django admin with the Fleetwise Ops site as `admin.site`."""

    default = False
    default_site = "portal.admin_site.FleetwiseAdminSite"


class PortalConfig(AppConfig):
    default = True
    name = "portal"
    verbose_name = "Fleetwise Ops"
    default_auto_field = "django.db.models.BigAutoField"
