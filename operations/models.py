"""Operations: every change the portal makes to Azure, as data (docs/architecture.md §6)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class Operation(models.Model):
    """One requested change to a tenant, run step by step by a Celery task."""

    class State(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATES = (State.AWAITING_APPROVAL, State.QUEUED, State.RUNNING)
    FINISHED_STATES = (State.SUCCEEDED, State.FAILED, State.CANCELLED)

    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.PROTECT, related_name="operations"
    )
    kind = models.CharField(max_length=40, db_index=True)
    state = models.CharField(max_length=20, choices=State.choices, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requested_operations"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approved_operations",
    )
    reason = models.TextField()
    ticket = models.CharField(max_length=100, blank=True)
    # What was asked for, validated at request time (times as ISO-8601 UTC strings).
    parameters = models.JSONField(default=dict)
    # Names and ids chosen up front plus what each step learned, so a resumed run finds what
    # Azure already did instead of doing it again.
    checkpoint = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    approval_expires_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cancelled_operations",
    )

    # The run lease: one worker at a time holds it and renews it (the heartbeat); a sweep
    # re-enqueues operations whose lease lapsed (worker killed, message lost).
    lease_id = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, db_index=True)
    celery_task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    # What the failure left behind, in words: "the tenant is on its original database", ...
    outcome = models.TextField(blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = (
            # At most one changing operation per tenant at a time, enforced by the database.
            models.UniqueConstraint(
                fields=("tenant",),
                condition=models.Q(state__in=("awaiting_approval", "queued", "running")),
                name="one_active_operation_per_tenant",
            ),
        )

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} of {self.tenant_id} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED_STATES

    def parameter(self, name: str, default: Any = None) -> Any:
        return self.parameters.get(name, default)


class OperationStep(models.Model):
    """One step of an operation's plan, with its own state and timestamps."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Done"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        UNDONE = "undone", "Undone"

    operation = models.ForeignKey(Operation, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    key = models.CharField(max_length=40)
    label = models.CharField(max_length=200)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ("operation", "position")
        constraints = (
            models.UniqueConstraint(
                fields=("operation", "position"), name="operation_step_position"
            ),
            models.UniqueConstraint(fields=("operation", "key"), name="operation_step_key"),
        )

    def __str__(self) -> str:
        return f"{self.position}. {self.label} ({self.state})"
