"""What the portal last worked out about each tenant's disaster-recovery readiness.

Written by `dr.services.readiness_refresh` from Azure's lists and the monitoring snapshots;
read by the DR page, the dashboard's DR column and the posture check "DR ready".
"""

from __future__ import annotations

from django.db import models

from tenants.models import Tenant


class DrReadiness(models.Model):
    """Whether a tenant could be brought up in Australia Southeast now, and each gap in words."""

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, primary_key=True, related_name="dr_readiness"
    )
    ready = models.BooleanField(db_index=True)
    gaps = models.JSONField(default=list, blank=True, help_text="What is missing, in words.")
    geo_backup_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Newest geo-replicated backup (what a geo-restore returns).",
    )
    paired_server = models.CharField(max_length=128, blank=True)
    paired_pool_id = models.CharField(
        max_length=400, blank=True, help_text="The paired server's pool planned to take it."
    )
    standby_site_id = models.CharField(max_length=400, blank=True)
    standby_state = models.CharField(max_length=20, blank=True)
    standby_recipe = models.JSONField(
        default=dict,
        blank=True,
        help_text="Without a standby site: how a failover builds one from the primary's "
        "configuration (dr.standby.StandbyRecipe); never a secret.",
    )
    standby_recipe_at = models.DateTimeField(
        null=True, blank=True, help_text="When the primary's configuration was recorded."
    )
    key_note = models.CharField(max_length=300, blank=True)
    key_uri = models.CharField(
        max_length=400,
        blank=True,
        help_text="The database's own TDE protector (a Key Vault key version); blank when it "
        "uses its server's key. A failover passes it on: the primary cannot be read then.",
    )
    key_identity_ids = models.JSONField(
        default=list,
        blank=True,
        help_text="The user-assigned identities the database reaches its own key with.",
    )
    geo_secondary_id = models.CharField(
        max_length=400,
        blank=True,
        help_text="The database's geo-secondary on the paired server: a failover fails its "
        "replication link over (seconds of data) instead of geo-restoring a backup.",
    )
    checked_at = models.DateTimeField(
        help_text="When this reading was made (the last good one while Azure cannot be read)."
    )
    unavailable_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="First failed read since the last good one: the row above is that last good one.",
    )
    unavailable_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name_plural = "DR readiness"

    def __str__(self) -> str:
        return f"{self.tenant_id}: {'ready' if self.ready else 'gaps'}"

    @property
    def is_good_reading(self) -> bool:
        """False for a row made when Azure could not be read and there was nothing to keep."""
        return self.unavailable_since is None or self.checked_at < self.unavailable_since

    @property
    def paired_pool_name(self) -> str:
        return self.paired_pool_id.rstrip("/").rsplit("/", 1)[-1] if self.paired_pool_id else ""

    @property
    def standby_site_name(self) -> str:
        return self.standby_site_id.rstrip("/").rsplit("/", 1)[-1] if self.standby_site_id else ""

    @property
    def route(self) -> str:
        """How a failover would bring the database up, in words."""
        if self.geo_secondary_id:
            server = self.geo_secondary_id.split("/databases/")[0].rsplit("/", 1)[-1]
            return f"Geo-secondary on {server}, failover of its replication link."
        return "Geo-restore of the newest geo-replicated backup."

    @property
    def standby_left_out(self) -> list[str]:
        """App settings of the primary not carried to a standby built from the recipe."""
        return list(self.standby_recipe.get("blueprint", {}).get("left_out", []))


class DrDrill(models.Model):
    """A successful DR drill: the tenant brought up in Australia Southeast from its geo backup
    without touching production, with what it measured. Written by the drill's record step."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="dr_drills")
    operation = models.OneToOneField(
        "operations.Operation", on_delete=models.CASCADE, related_name="dr_drill"
    )
    database_name = models.CharField(max_length=128, help_text="The drill's restored database.")
    database_id = models.CharField(max_length=400)
    standby_site_id = models.CharField(max_length=400)
    requested_at = models.DateTimeField(help_text="When the drill was requested (RTO starts).")
    geo_backup_at = models.DateTimeField(
        null=True, blank=True, help_text="The geo backup's point in time (what was restored)."
    )
    healthy_at = models.DateTimeField(help_text="When app and database first reported healthy.")
    rto_seconds = models.FloatField(help_text="Request to healthy.")
    rpo_seconds = models.FloatField(
        null=True, blank=True, help_text="Drill start minus the geo backup's point in time."
    )
    teardown_operation = models.ForeignKey(
        "operations.Operation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The approval-gated deletion of the drill's database.",
    )

    class Meta:
        ordering = ["-healthy_at"]
        indexes = [models.Index(fields=["tenant", "-healthy_at"])]

    def __str__(self) -> str:
        return f"{self.tenant_id}: drill {self.database_name}"

    @property
    def standby_site_name(self) -> str:
        return self.standby_site_id.rstrip("/").rsplit("/", 1)[-1]


class DrRepatriation(models.Model):
    """A tenant brought home after a failover, with the switch's downtime (standby stopped →
    home app and database healthy). Written by the repatriation's record step."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="dr_repatriations")
    operation = models.OneToOneField(
        "operations.Operation", on_delete=models.CASCADE, related_name="dr_repatriation"
    )
    home_database_id = models.CharField(max_length=400, help_text="Where the tenant runs now.")
    away_database_id = models.CharField(
        max_length=400, help_text="The Australia Southeast copy it ran on while away."
    )
    set_aside_name = models.CharField(
        max_length=128, blank=True, help_text="The stale home database, renamed and kept."
    )
    switch_started_at = models.DateTimeField(help_text="The standby app was stopped (downtime).")
    healthy_at = models.DateTimeField(help_text="Home app and database first reported healthy.")
    downtime_seconds = models.FloatField(help_text="Healthy at home minus switch start.")
    away_cleanup_operation = models.ForeignKey(
        "operations.Operation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The approval-gated deletion of the Australia Southeast copy.",
    )
    aside_cleanup_operation = models.ForeignKey(
        "operations.Operation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The approval-gated deletion of the stale home database set aside.",
    )

    class Meta:
        ordering = ["-healthy_at"]
        indexes = [models.Index(fields=["tenant", "-healthy_at"])]

    def __str__(self) -> str:
        return f"{self.tenant_id}: home after {self.downtime_seconds:.0f} s down"

    @property
    def home_database_name(self) -> str:
        return self.home_database_id.rstrip("/").rsplit("/", 1)[-1]

    @property
    def away_database_name(self) -> str:
        return self.away_database_id.rstrip("/").rsplit("/", 1)[-1]
