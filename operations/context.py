"""What a step sees (StepContext) and the exceptions a step or the engine raises."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.utils import timezone

from operations.kinds import Wait, kind_of
from operations.models import AdmissionSlot, Operation, OperationStep
from portal.azure.lro import LroOutcome

P = TypeVar("P")
# Checkpoint key: the operation gave its admission slots back before finishing.
SLOTS_RELEASED = "slots_released"
log = logging.getLogger(__name__)


class StepFailedError(Exception):
    """A step found a reason to stop that retrying will not fix."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class LeaseLostError(Exception):
    """Another run took the operation over (ours was presumed dead); stop without writing."""


class CancelledError(Exception):
    """The operation was cancelled while running."""


def lro_settled(outcome: LroOutcome, waiting: str) -> Wait | None:
    """A step's answer to an Azure operation it polls: a Wait (saying `waiting`) while Azure
    works, None once it succeeded; Azure's failure stops the step with Azure's code."""
    if not outcome.done:
        return Wait(settings.OPERATIONS_WAIT_SECONDS, waiting)
    if not outcome.succeeded:
        raise StepFailedError(
            f"Azure refused: {outcome.error_message or outcome.status}",
            code=outcome.error_code or "AzureFailed",
        )
    return None


class StepContext:
    """What a step sees: the operation, its typed parameters, its checkpoint, the heartbeat."""

    def __init__(
        self,
        operation: Operation,
        step: OperationStep,
        run_id: str,
        enqueue: Callable[[int, float], None],
    ) -> None:
        self.operation = operation
        self.step = step
        self.run_id = run_id
        # How this run enqueues operations (a parent starting its children uses it).
        self.enqueue = enqueue

    @property
    def tenant(self) -> Any:
        return self.operation.tenant

    def parameters(self, of_type: type[P]) -> P:
        """The operation's parameters as the kind's frozen dataclass (checked to be `of_type`)."""
        value = kind_of(self.operation.kind).parameters_from(self.operation.parameters)
        if not isinstance(value, of_type):
            raise TypeError(f"{self.operation.kind} parameters are not {of_type.__name__}")
        return value

    def get(self, key: str, default: Any = None) -> Any:
        return self.operation.checkpoint.get(key, default)

    def save(self, **values: Any) -> None:
        """Record what this step learned or did, durably, before moving on."""
        self.operation.checkpoint = {**self.operation.checkpoint, **values}
        self._write(checkpoint=self.operation.checkpoint)

    def outcome_if_failed(self, words: str) -> None:
        """What the subject is left with if the operation fails from here with nothing to undo."""
        self.operation.outcome_if_failed = words
        self._write(outcome_if_failed=words)

    def outcome_if_rolled_back(self, words: str) -> None:
        """What the subject is left with once the completed steps have been undone."""
        self.operation.outcome_if_rolled_back = words
        self._write(outcome_if_rolled_back=words)

    def limits_release(self) -> None:
        """Give back the kind's admission slots before the operation finishes (a failover's
        restore is done: the next tenant's restore may start while this one sets up its app),
        and wake the parent that hands them out. A resumed run does not take them again:
        slots are taken only at admission."""
        self.save(**{SLOTS_RELEASED: True})
        AdmissionSlot.objects.filter(operation=self.operation).delete()
        if self.operation.parent_id:
            # The parent decides who takes the slot: wake it now, not at its next look (which
            # still comes if this message is lost).
            try:
                self.enqueue(self.operation.parent_id, 0.0)
            except Exception:
                log.exception("could not wake parent %s", self.operation.parent_id)

    def heartbeat(self, message: str | None = None) -> None:
        """Renew the lease (call at least every OPERATIONS_LEASE_SECONDS / 3 while working)."""
        self._write()
        if message is not None and message != self.step.message:
            self.step.message = message
            self.step.save(update_fields=["message"])

    def cancel_requested(self) -> bool:
        return Operation.objects.filter(
            pk=self.operation.pk, cancel_requested_at__isnull=False
        ).exists()

    def _write(self, **fields: Any) -> None:
        updated = Operation.objects.filter(pk=self.operation.pk, lease_id=self.run_id).update(
            heartbeat_at=timezone.now(), **fields
        )
        if not updated:
            raise LeaseLostError
