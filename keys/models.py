"""What the portal last read about each tenant's TDE key (pages never call Azure)."""

from __future__ import annotations

from django.db import models


class KeyInventory(models.Model):
    """One tenant's key as collected: its level, versions (each with until when backups may
    need it), the Key Vault rotation policy and Azure's auto-rotation setting."""

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="key_inventory"
    )
    # "database", "server", or "service-managed".
    level = models.CharField(max_length=20, blank=True)
    key_id = models.CharField(max_length=400, blank=True)
    kid_in_use = models.CharField(max_length=400, blank=True)
    # [{version, kid, enabled, created, expires, in_use, needed_until, reasons}] oldest first.
    versions = models.JSONField(default=list, blank=True)
    rotation_policy = models.CharField(max_length=200, blank=True)
    auto_rotation = models.BooleanField(default=False)
    # Tenants a server-level key covers (slugs).
    covers = models.JSONField(default=list, blank=True)
    collected_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"key inventory of {self.tenant_id}"
