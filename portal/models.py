"""The portal's own data: the audit trail, staff profiles and the permission catalogue."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models


class AuditTrailImmutableError(Exception):
    """Raised on any attempt to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    # Every bulk write path of the ORM (update, delete, bulk_update, bulk_create) ends here;
    # new events go through portal.audit.audit_record, which links the hash chain.
    def update(self, **kwargs: Any) -> int:
        raise AuditTrailImmutableError("Audit events are append-only and cannot be updated.")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise AuditTrailImmutableError("Audit events are append-only and cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditTrailImmutableError("Audit events are append-only and cannot be deleted.")

    def bulk_create(self, *args: Any, **kwargs: Any) -> list[AuditEvent]:
        raise AuditTrailImmutableError("Audit events are recorded one at a time by audit_record.")


class AuditEvent(models.Model):
    """One thing that happened, append-only; `hash` is a keyed MAC over the row and the previous
    row's hash (plain SHA-256 for events recorded before the MAC; see docs/audit.md)."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        DENIED = "denied", "Denied"

    created_at = models.DateTimeField(db_index=True)
    # The actor is copied, not a foreign key: deleting a user must not rewrite history.
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor = models.CharField(max_length=254, blank=True, help_text="Username at the time.")
    action = models.CharField(max_length=100, db_index=True)
    tenant = models.SlugField(max_length=63, blank=True, db_index=True)
    request_id = models.CharField(max_length=64, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, db_index=True)
    details = models.JSONField(default=dict, blank=True)
    # Unique: two events can never follow the same one, so the chain cannot fork even if a
    # writer bypasses the head row's lock (portal.audit retries on the violation).
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64, unique=True)

    objects: ClassVar[models.Manager[AuditEvent]] = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ("-id",)
        indexes = (models.Index(fields=("tenant", "created_at")),)

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S}Z {self.action} by {self.actor or 'system'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditTrailImmutableError("Audit events are append-only and cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditTrailImmutableError("Audit events are append-only and cannot be deleted.")


class AuditChainHead(models.Model):
    """The audit chain's one head row: its length and newest hash. Every append locks this row
    (SELECT ... FOR UPDATE) in its transaction, so concurrent writers take turns on any database."""

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON)
    length = models.BigIntegerField(default=0)
    head_hash = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = (
            models.CheckConstraint(condition=models.Q(id=1), name="auditchainhead_single_row"),
        )

    def __str__(self) -> str:
        return f"Audit chain head: {self.length} events"


class PortalAccess(models.Model):
    """Holds the portal's custom permissions (no table); groups get them by data migration."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = (
            ("view_tenant", "Can view fleet and tenant status"),
            ("request_restore", "Can request database restores"),
            ("approve_operation", "Can approve another person's operation"),
            ("scale_tenant", "Can scale App Service plans and databases"),
            ("rotate_key", "Can rotate Key Vault TDE keys"),
            ("manage_catalogue", "Can manage the tenant catalogue"),
            ("triage_alert", "Can dismiss or resolve Defender alerts"),
        )

    def __str__(self) -> str:
        return "Portal access"


class StaffProfile(models.Model):
    """A person's Entra ID identity (what sign-in keys on) and portal settings Entra does not hold."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    # People are matched by Entra object id within the tenant, never by e-mail or name.
    entra_tid = models.CharField("Entra tenant id", max_length=36, blank=True)
    entra_oid = models.CharField("Entra object id", max_length=36, blank=True)
    only_assigned_tenants = models.BooleanField(
        default=False,
        help_text="Limit an account manager to the tenants they are assigned to.",
    )
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=("entra_tid", "entra_oid"),
                condition=~models.Q(entra_oid=""),
                name="staffprofile_unique_entra_identity",
            ),
        )

    def __str__(self) -> str:
        return f"Profile of {self.user}"
