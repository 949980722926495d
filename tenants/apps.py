from __future__ import annotations

from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenant catalogue"
    default_auto_field = "django.db.models.BigAutoField"
