"""Snapshots of what Azure said about each tenant, written by the refresh pipeline and read by
every monitoring page. Pages never call Azure; they read these rows and show their age.

The dashboard must cost a constant number of queries at thousands of tenants, so everything it
filters or sorts on is a column of `TenantHealth` (one row per tenant), and the 24 h series and
lists it does not filter on are JSON on the same row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tenants.models import Tenant


class HealthStatus(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    DEGRADED = "degraded", "Degraded"
    DOWN = "down", "Down"
    UNKNOWN = "unknown", "Unknown"


class Source(models.TextChoices):
    """What one refresh reads; each source succeeds or fails on its own."""

    APPS = "apps", "App Service sites"
    PLANS = "plans", "App Service plans"
    DATABASES = "databases", "SQL databases"
    POOLS = "pools", "Elastic pools"
    RESOURCE_HEALTH = "resource_health", "Resource Health"
    METRICS = "metrics", "Azure Monitor metrics"
    ALERTS = "alerts", "Defender alerts"
    BACKUPS = "backups", "Backups"
    APP_INSIGHTS = "app_insights", "Application Insights"
    POSTURE = "posture", "Posture configuration"
    SERIES = "series", "24 h metric series"


class TenantHealth(models.Model):
    """The current picture of one tenant, with its status and the reasons for it.

    `sources` keeps, per source, when it last succeeded (`as_of`) and, when its latest read
    failed, the reason (`error`, `failed_at`); the columns keep the last good values.
    """

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, primary_key=True, related_name="health"
    )
    status = models.CharField(
        max_length=10, choices=HealthStatus.choices, default=HealthStatus.UNKNOWN, db_index=True
    )
    reasons = models.JSONField(default=list, blank=True, help_text="Why, in words.")
    status_since = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    # The oldest successful read among the hot sources: what "as of" on the dashboard means.
    as_of = models.DateTimeField(null=True, blank=True, db_index=True)
    sources = models.JSONField(default=dict, blank=True)
    region = models.CharField(max_length=40, blank=True, help_text="Where the database is.")

    # App Service
    app_state = models.CharField(max_length=20, blank=True)
    app_availability = models.CharField(max_length=20, blank=True)
    app_availability_reason = models.CharField(max_length=500, blank=True)
    app_https_only = models.BooleanField(null=True, blank=True)
    app_min_tls = models.CharField(max_length=8, blank=True)
    app_always_on = models.BooleanField(null=True, blank=True)
    app_health_check_path = models.CharField(max_length=200, blank=True)
    plan_sku = models.CharField(max_length=20, blank=True)
    plan_instances = models.PositiveIntegerField(null=True, blank=True)
    app_requests_24h = models.BigIntegerField(null=True, blank=True)
    app_5xx_24h = models.BigIntegerField(null=True, blank=True)
    app_response_ms = models.FloatField(null=True, blank=True)
    app_series = models.JSONField(default=dict, blank=True)

    # Database
    db_status = models.CharField(max_length=40, blank=True)
    db_service_objective = models.CharField(max_length=40, blank=True)
    db_size_bytes = models.BigIntegerField(null=True, blank=True)
    db_max_size_bytes = models.BigIntegerField(null=True, blank=True)
    db_availability = models.CharField(max_length=20, blank=True)
    db_availability_reason = models.CharField(max_length=500, blank=True)
    db_cpu_percent = models.FloatField(null=True, blank=True)
    db_storage_percent = models.FloatField(null=True, blank=True)
    db_workers_percent = models.FloatField(null=True, blank=True)
    db_sessions_percent = models.FloatField(null=True, blank=True)
    db_log_write_percent = models.FloatField(null=True, blank=True)
    db_series = models.JSONField(default=dict, blank=True)

    # Elastic pool (the pool's own row is PoolSnapshot; these are copies for sorting/filtering)
    pool_name = models.CharField(max_length=128, blank=True, db_index=True)
    pool_use_percent = models.FloatField(null=True, blank=True)
    pool_share_percent = models.FloatField(
        null=True, blank=True, help_text="This database's share of its pool's CPU."
    )

    # Backups
    # Across the lineage: after an in-place restore the kept pre-restore database's points
    # are still restorable, so the window starts there (`backups/window.py`).
    backup_earliest = models.DateTimeField(null=True, blank=True)
    # The window's parts, oldest first, each naming the database it comes from (WindowPart JSON).
    backup_window_parts = models.JSONField(default=list, blank=True)
    backup_latest = models.DateTimeField(null=True, blank=True)
    backup_redundancy = models.CharField(max_length=20, blank=True)
    pitr_days = models.PositiveSmallIntegerField(null=True, blank=True)
    ltr_policy = models.JSONField(default=dict, blank=True)
    ltr_backups = models.JSONField(default=list, blank=True)
    geo_backup_latest = models.DateTimeField(null=True, blank=True)

    # Application Insights
    ai_connected = models.BooleanField(null=True, blank=True)
    ai_availability_percent = models.FloatField(null=True, blank=True)
    ai_failed_requests_24h = models.BigIntegerField(null=True, blank=True)
    ai_exceptions_24h = models.BigIntegerField(null=True, blank=True)
    ai_server_response_ms = models.FloatField(null=True, blank=True)
    ai_series = models.JSONField(default=dict, blank=True)

    # Defender and posture (counts of open alerts; rows in DefenderAlert and PostureCheck)
    alerts_high = models.PositiveIntegerField(default=0)
    alerts_medium = models.PositiveIntegerField(default=0)
    alerts_low = models.PositiveIntegerField(default=0)
    alerts_informational = models.PositiveIntegerField(default=0)
    recommendations = models.JSONField(default=list, blank=True)
    # len(recommendations), as a column: the dashboard filters and sorts on it.
    open_recommendations = models.PositiveIntegerField(default=0, db_index=True)
    posture_failures = models.PositiveIntegerField(default=0, db_index=True)

    class Meta:
        verbose_name_plural = "tenant health"
        indexes = (models.Index(fields=("status", "tenant")),)

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.status}"

    @property
    def open_alerts(self) -> int:
        return self.alerts_high + self.alerts_medium + self.alerts_low + self.alerts_informational


class PoolSnapshot(models.Model):
    """One elastic pool's utilisation, its 24 h series and each database's share of it."""

    pool_id = models.CharField(max_length=400, unique=True, help_text="ARM id, lower case.")
    name = models.CharField(max_length=128)
    server_name = models.CharField(max_length=128)
    subscription_id = models.CharField(max_length=36)
    resource_group = models.CharField(max_length=90)
    region = models.CharField(max_length=40, blank=True)
    sku_name = models.CharField(max_length=40, blank=True)
    sku_tier = models.CharField(max_length=40, blank=True)
    capacity = models.PositiveIntegerField(null=True, blank=True, help_text="eDTU or vCores.")
    per_database_min = models.FloatField(null=True, blank=True)
    per_database_max = models.FloatField(null=True, blank=True)
    max_size_bytes = models.BigIntegerField(null=True, blank=True)
    storage_used_bytes = models.BigIntegerField(null=True, blank=True)
    cpu_percent = models.FloatField(null=True, blank=True)
    storage_percent = models.FloatField(null=True, blank=True)
    workers_percent = models.FloatField(null=True, blank=True)
    sessions_percent = models.FloatField(null=True, blank=True)
    log_write_percent = models.FloatField(null=True, blank=True)
    # Start of the current spell of 5-minute CPU points above the hot threshold (None = not hot).
    cpu_hot_since = models.DateTimeField(null=True, blank=True)
    recent_cpu = models.JSONField(default=list, blank=True, help_text="[[iso, percent], ...]")
    series = models.JSONField(default=dict, blank=True, help_text="{metric: [[iso, value]]}")
    # [{"database_id", "database", "tenant" (slug or ""), "cpu_percent", "storage_bytes"}],
    # largest CPU share first.
    database_shares = models.JSONField(default=list, blank=True)
    tenant_count = models.PositiveIntegerField(default=0)
    as_of = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return f"{self.server_name}/{self.name}"


class DefenderAlert(models.Model):
    """A Defender for Cloud alert on one of a tenant's resources, as last read."""

    class Severity(models.TextChoices):
        HIGH = "High", "High"
        MEDIUM = "Medium", "Medium"
        LOW = "Low", "Low"
        INFORMATIONAL = "Informational", "Informational"

    class Status(models.TextChoices):
        ACTIVE = "Active", "Active"
        IN_PROGRESS = "InProgress", "In progress"
        DISMISSED = "Dismissed", "Dismissed"
        RESOLVED = "Resolved", "Resolved"

    OPEN_STATUSES = (Status.ACTIVE, Status.IN_PROGRESS)

    azure_id = models.CharField(max_length=600, unique=True, help_text="ARM id, as Azure gives it.")
    name = models.CharField(max_length=200)
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="defender_alerts"
    )
    display_name = models.CharField(max_length=300)
    alert_type = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    generated_at = models.DateTimeField()
    description = models.TextField(blank=True)
    remediation = models.JSONField(default=list, blank=True, help_text="Steps, in order.")
    resource_id = models.CharField(max_length=600, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ("-generated_at",)
        indexes = (
            models.Index(fields=("tenant", "status")),
            models.Index(fields=("status", "severity")),
        )

    def __str__(self) -> str:
        return f"{self.severity} {self.display_name}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class PostureCheck(models.Model):
    """One promise of the security statement, checked for one tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="posture_checks")
    check_name = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    expected = models.CharField(max_length=300)
    actual = models.CharField(max_length=300)
    passed = models.BooleanField(db_index=True)
    read_at = models.DateTimeField()

    class Meta:
        ordering = ("tenant", "check_name")
        constraints = (
            models.UniqueConstraint(fields=("tenant", "check_name"), name="posture_check_once"),
        )

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.check_name}: {'pass' if self.passed else 'FAIL'}"


class StatusChange(models.Model):
    """A row per change of a tenant's status (never overwritten): the 30-day timeline."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="status_changes")
    at = models.DateTimeField()
    from_status = models.CharField(max_length=10, choices=HealthStatus.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=HealthStatus.choices)
    reasons = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ("-at",)
        indexes = (models.Index(fields=("tenant", "at")),)

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.from_status or '-'} -> {self.to_status} at {self.at:%Y-%m-%d %H:%M}Z"


class RefreshRun(models.Model):
    """One run of the refresh pipeline: what it read, how many Azure calls it made, what failed."""

    class Kind(models.TextChoices):
        HOT = "hot", "Health, metrics and alerts"
        BACKUPS = "backups", "Backups and 24 h series"
        POSTURE = "posture", "Posture configuration"
        TENANT = "tenant", "One tenant, every source"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="refresh_runs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    tenants = models.PositiveIntegerField(default=0)
    azure_calls = models.PositiveIntegerField(default=0)
    throttled = models.PositiveIntegerField(default=0, help_text="429 answers seen (retried).")
    errors = models.JSONField(default=dict, blank=True, help_text="{source: reason}")

    class Meta:
        ordering = ("-requested_at",)
        indexes = (models.Index(fields=("kind", "requested_at")),)

    def __str__(self) -> str:
        return f"{self.kind} refresh at {self.requested_at:%Y-%m-%d %H:%M}Z"
