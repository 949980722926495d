"""The tenant catalogue: each customer and the Azure resources that make up its environment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from portal.resource_ids import name_of
from tenants.resource_ids import (
    APP_INSIGHTS,
    DATABASE,
    ELASTIC_POOL,
    PLAN,
    SITE,
    SQL_SERVER,
    ResourceIdValidator,
    resource_id_parts,
    validate_key_vault_key_id,
    validate_subscription_id,
)

AZURE_RESOURCE_FIELDS = (
    "subscription_id",
    "resource_group",
    "app_service_site_id",
    "app_service_plan_id",
    "sql_server_id",
    "database_id",
    "elastic_pool_id",
    "key_vault_key_id",
    "app_insights_id",
    "geo_sql_server_id",
)


class Tenant(models.Model):
    """A customer with its own App Service, Azure SQL database, TDE key and telemetry."""

    class Status(models.TextChoices):
        ONBOARDING = "onboarding", "Onboarding"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        OFFBOARDED = "offboarded", "Offboarded"

    slug = models.SlugField(max_length=63, unique=True)
    display_name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_tenants",
    )
    region = models.CharField(max_length=40, default="australiaeast")
    tags = models.JSONField(default=dict, blank=True)

    subscription_id = models.CharField(max_length=36, validators=[validate_subscription_id])
    resource_group = models.CharField(max_length=90)
    app_service_site_id = models.CharField(
        "App Service site", max_length=400, validators=[ResourceIdValidator(SITE.label)]
    )
    app_service_plan_id = models.CharField(
        "App Service plan", max_length=400, validators=[ResourceIdValidator(PLAN.label)]
    )
    sql_server_id = models.CharField(
        "SQL server", max_length=400, validators=[ResourceIdValidator(SQL_SERVER.label)]
    )
    database_id = models.CharField(
        "SQL database", max_length=400, validators=[ResourceIdValidator(DATABASE.label)]
    )
    elastic_pool_id = models.CharField(
        "Elastic pool", max_length=400, validators=[ResourceIdValidator(ELASTIC_POOL.label)]
    )
    key_vault_key_id = models.CharField(
        "Key Vault key (TDE)", max_length=400, validators=[validate_key_vault_key_id]
    )
    app_insights_id = models.CharField(
        "Application Insights component",
        max_length=400,
        blank=True,
        validators=[ResourceIdValidator(APP_INSIGHTS.label)],
    )
    geo_sql_server_id = models.CharField(
        "Paired-region SQL server (geo-restore)",
        max_length=400,
        blank=True,
        validators=[ResourceIdValidator(SQL_SERVER.label)],
    )

    class DrTier(models.IntegerChoices):
        FIRST = 1, "Tier 1 (failed over first)"
        SECOND = 2, "Tier 2"
        THIRD = 3, "Tier 3 (failed over last)"

    dr_tier = models.PositiveSmallIntegerField(
        "DR priority tier",
        choices=DrTier.choices,
        default=DrTier.SECOND,
        help_text="Order of failover to Australia Southeast: tier 1 tenants come up first.",
    )

    # Where the tenant runs now, when that is not its home (after a region failover): blank
    # means the home resources above. Written only by `tenants.services.tenant_active_copy_set`.
    active_region = models.CharField(max_length=40, blank=True)
    active_sql_server_id = models.CharField(max_length=400, blank=True)
    active_database_id = models.CharField(max_length=400, blank=True)
    active_elastic_pool_id = models.CharField(max_length=400, blank=True)
    active_site_id = models.CharField(max_length=400, blank=True)
    active_since = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("slug",)
        constraints = (
            models.CheckConstraint(condition=~models.Q(slug=""), name="tenant_slug_not_empty"),
        )

    def __str__(self) -> str:
        return f"{self.display_name} ({self.slug})"

    def clean(self) -> None:
        """Cross-field checks: every resource lives in the tenant's subscription, and the
        database and pool on the tenant's SQL server. Field-level shape errors come first."""
        errors: dict[str, str] = {}
        checks = (
            ("app_service_site_id", SITE),
            ("app_service_plan_id", PLAN),
            ("sql_server_id", SQL_SERVER),
            ("database_id", DATABASE),
            ("elastic_pool_id", ELASTIC_POOL),
        )
        parts: dict[str, dict[str, str]] = {}
        for field, kind in checks:
            try:
                parts[field] = resource_id_parts(kind, getattr(self, field))
            except ValidationError:
                continue  # reported by the field's own validator
        for field, values in parts.items():
            if (
                self.subscription_id
                and values["subscription"].lower() != self.subscription_id.lower()
            ):
                errors[field] = "This resource is not in the tenant's subscription."
        server = parts.get("sql_server_id")
        if server:
            for field in ("database_id", "elastic_pool_id"):
                child = parts.get(field)
                if (
                    child
                    and field not in errors
                    and (
                        child["server"].lower() != server["name"].lower()
                        or child["resource_group"].lower() != server["resource_group"].lower()
                    )
                ):
                    errors[field] = "This resource is not on the tenant's SQL server."
        if errors:
            raise ValidationError(errors)

    @property
    def database_name(self) -> str:
        return name_of(self.database_id)

    @property
    def active(self) -> ActiveCopy:
        """The copy the tenant runs on now: its home resources unless failed over."""
        if not self.active_database_id:
            return ActiveCopy(
                region=self.region,
                sql_server_id=self.sql_server_id,
                database_id=self.database_id,
                elastic_pool_id=self.elastic_pool_id,
                site_id=self.app_service_site_id,
                at_home=True,
                since=None,
            )
        return ActiveCopy(
            region=self.active_region,
            sql_server_id=self.active_sql_server_id,
            database_id=self.active_database_id,
            elastic_pool_id=self.active_elastic_pool_id,
            site_id=self.active_site_id,
            at_home=False,
            since=self.active_since,
        )


@dataclass(frozen=True)
class ActiveCopy:
    """Where a tenant runs: region, SQL server, database, pool and App Service site."""

    region: str
    sql_server_id: str
    database_id: str
    elastic_pool_id: str
    site_id: str
    at_home: bool
    since: datetime | None = None

    @property
    def database_name(self) -> str:
        return name_of(self.database_id)

    @property
    def server_name(self) -> str:
        return name_of(self.sql_server_id)

    @property
    def site_name(self) -> str:
        return name_of(self.site_id)

    @property
    def pool_name(self) -> str:
        return name_of(self.elastic_pool_id, default="")
