"""Notifications as data: who chose which channels, and every delivery with its attempts."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.db import models


class NotificationPreference(models.Model):
    """The channels one person wants notifications on (no row: e-mail only)."""

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_preference",
    )
    by_email = models.BooleanField(default=True)
    by_teams = models.BooleanField(default=False)
    # A Teams channel's incoming webhook (Workflows or a legacy connector); blank means the
    # portal's shared channel (NOTIFY_TEAMS_WEBHOOK_URL), if one is configured.
    teams_webhook_url = models.URLField(max_length=600, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Notification channels of {self.person_id}"


class Event(models.TextChoices):
    APPROVAL_NEEDED = "approval_needed", "Approval needed"
    OPERATION_SUCCEEDED = "operation_succeeded", "Operation succeeded"
    OPERATION_FAILED = "operation_failed", "Operation failed"
    OPERATION_CANCELLED = "operation_cancelled", "Operation cancelled"
    TENANT_RESTORED = "tenant_restored", "Tenant restored"
    TENANT_STATUS_CHANGED = "tenant_status_changed", "Tenant status changed"
    SECURITY_DIGEST = "security_digest", "Security digest"


class Delivery(models.Model):
    """One message to one target (an address, or a Teams channel) with every attempt recorded.

    The message is rendered when the delivery is created, so a retry sends exactly what the
    first attempt tried to send, whatever changed since.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        TEAMS = "teams", "Microsoft Teams"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    event = models.CharField(max_length=32, choices=Event.choices, db_index=True)
    # One delivery per happening per target, so a service called twice (a resumed run) sends once.
    event_key = models.CharField(max_length=200)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    target = models.CharField(max_length=600, help_text="The e-mail address or webhook URL.")
    recipients = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="notification_deliveries"
    )
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    operation = models.ForeignKey(
        "operations.Operation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    subject = models.CharField(max_length=300)
    body = models.TextField()
    facts = models.JSONField(default=list, blank=True, help_text="[[label, value], ...]")
    link = models.CharField(max_length=600, blank=True)

    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    # [{"at": iso, "error": str}, ...]: one entry per failed attempt.
    failures = models.JSONField(default=list, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When the next attempt is due (the sweep re-enqueues pending deliveries well past it).
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # An attempt in progress holds the row until then, so a re-enqueued copy never sends twice.
    claimed_until = models.DateTimeField(null=True, blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = (
            models.UniqueConstraint(
                fields=("event_key", "channel", "target"), name="delivery_once_per_target"
            ),
        )

    def __str__(self) -> str:
        return (
            f"{self.get_channel_display()} to {self.target_label}: {self.subject} ({self.status})"
        )

    @property
    def target_label(self) -> str:
        """Where it went, without a webhook URL's secret path."""
        if self.channel == self.Channel.TEAMS:
            return f"Teams webhook on {urlsplit(self.target).hostname}"
        return self.target


class DigestEntry(models.Model):
    """A security finding already reported in a digest, so the next digest names only new ones.

    A posture check that passes again loses its entry, so a later failure is reported afresh.
    """

    class Kind(models.TextChoices):
        ALERT = "alert", "Defender alert"
        POSTURE = "posture", "Posture check"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    key = models.CharField(max_length=600)
    reported_at = models.DateTimeField()

    class Meta:
        constraints = (models.UniqueConstraint(fields=("kind", "key"), name="digest_entry_once"),)

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"
