"""What the portal last learned from Azure about a tenant's backups (pages read this, never Azure)."""

from __future__ import annotations

from django.db import models


class RestoreSnapshot(models.Model):
    """A tenant's restore window, long-term backups and restorable deleted databases, as Azure
    reported them at `collected_at` (refreshed by a Celery task on demand and on a schedule)."""

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="restore_snapshot"
    )
    earliest_restore_at = models.DateTimeField(null=True, blank=True)
    database_status = models.CharField(max_length=40, blank=True)
    # The window across the tenant's lineage (after in-place restores, older parts come from
    # kept pre-restore databases): [{"database_id", "database_name", "earliest", "latest"}].
    window_parts = models.JSONField(default=list, blank=True)
    # [{"id", "backup_time", "expires_at", "database_name"}], ISO-8601 UTC times, under the
    # live name and the names of kept pre-restore databases.
    long_term_backups = models.JSONField(default=list, blank=True)
    # [{"id", "name", "deleted_at", "earliest_restore_at"}] for this tenant's database name.
    dropped_databases = models.JSONField(default=list, blank=True)
    collected_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Restore snapshot of {self.tenant_id}"

    @property
    def is_fresh(self) -> bool:
        """Collected since the last request for a refresh."""
        return self.collected_at is not None and (
            self.requested_at is None or self.collected_at >= self.requested_at
        )
