"""Operations: every change the portal makes to Azure, as data (docs/architecture.md §6)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Operation(models.Model):
    """One requested change to a subject (a tenant, a pool, a server, a region, the fleet), run
    step by step by Celery tasks. A fleet operation is a parent whose children are operations."""

    class Subject(models.TextChoices):
        TENANT = "tenant", "Tenant"
        ELASTIC_POOL = "elastic_pool", "Elastic pool"
        SQL_SERVER = "sql_server", "SQL server"
        REGION = "region", "Region"
        FLEET = "fleet", "Fleet"

    class State(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATES = (State.AWAITING_APPROVAL, State.QUEUED, State.RUNNING)
    FINISHED_STATES = (State.SUCCEEDED, State.FAILED, State.CANCELLED)

    # What the operation acts on. `tenant` is set when the subject is a tenant (pages of a
    # tenant list its operations); `subject_id` is the slug or the ARM resource id.
    subject_type = models.CharField(max_length=20, choices=Subject.choices, default=Subject.TENANT)
    subject_id = models.CharField(max_length=400)
    subject_label = models.CharField(max_length=200)
    tenant = models.ForeignKey(
        "tenants.Tenant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="operations",
    )
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
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
    # The kind's frozen parameters dataclass, serialised (times as ISO-8601 UTC strings).
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
    # A paused operation is not visited until resumed (kinds that allow it: fleet parents).
    paused_at = models.DateTimeField(null=True, blank=True)

    # The run lease: one worker at a time holds it and renews it (the heartbeat); a sweep
    # re-enqueues operations whose lease lapsed (worker killed, message lost).
    lease_id = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # When the engine will look again at an operation that released its lease (waiting for
    # Azure, a transient error, a full admission limit): the sweep revives it only when this
    # is long past, so a waiting operation does not look dead.
    next_visit_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The Celery task of the latest run (each run overwrites it and names it in its audit event).
    celery_task_id = models.CharField(max_length=255, blank=True)
    # Visits that ended other than by waiting (crashes, transient and unexpected errors).
    attempts = models.PositiveIntegerField(default=0)
    # "Type: message" of the last unexpected exception; the same one twice in a row fails.
    last_unexpected_error = models.TextField(blank=True)

    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    # What the failure left behind, in words: "the tenant is on its original database", ...
    outcome = models.TextField(blank=True)
    # What a failure or a roll-back would leave, as the steps last said (StepContext).
    outcome_if_failed = models.TextField(blank=True)
    outcome_if_rolled_back = models.TextField(blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = (models.Index(fields=("subject_type", "subject_id"), name="operation_subject"),)

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} of {self.subject_label} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED_STATES

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None and not self.is_finished


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
    # An unexpected exception raised by the step: its type and message, kept even if retried.
    error_type = models.CharField(max_length=200, blank=True)
    error_message = models.TextField(blank=True)

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


class OperationLock(models.Model):
    """A lock key held by an active operation (`tenant:<slug>`, `pool:<resource id>`, …): one
    row per key, unique, so the database lets one operation at a time hold it. Taken when the
    operation is requested, released in the transaction that finishes it."""

    key = models.CharField(max_length=400, unique=True)
    operation = models.ForeignKey(Operation, on_delete=models.CASCADE, related_name="locks")
    taken_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.key} held by #{self.operation_id}"


class AdmissionSlot(models.Model):
    """One of the `capacity` slots of a concurrency limit (`restores:pool:<id>` has four),
    taken when an operation starts running and released when it finishes. Slot numbers are
    unique per limit, so no number of workers can take more slots than exist."""

    key = models.CharField(max_length=400)
    slot = models.PositiveSmallIntegerField()
    operation = models.ForeignKey(Operation, on_delete=models.CASCADE, related_name="slots")
    taken_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("key", "slot"), name="admission_slot_unique"),
        )

    def __str__(self) -> str:
        return f"{self.key}#{self.slot} held by #{self.operation_id}"
