from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from operations.engine import operation_execute


def enqueue_run(operation_id: int, countdown: float) -> None:
    run_operation.apply_async(args=(operation_id,), countdown=countdown)


@shared_task(
    bind=True, name="operations.run", acks_late=True, soft_time_limit=20 * 60, time_limit=25 * 60
)
def run_operation(self: Any, operation_id: int) -> None:
    """Run or resume one operation. Steps that wait return and are visited again later."""
    try:
        operation_execute(
            operation_id=operation_id, enqueue=enqueue_run, task_id=self.request.id or ""
        )
    except SoftTimeLimitExceeded:
        # The lease is released on the way out; continue in a fresh task rather than waiting
        # for a sweep.
        enqueue_run(operation_id, 0.0)


@shared_task(name="operations.sweep", soft_time_limit=60, time_limit=90)
def sweep_operations() -> dict[str, int]:
    from operations.services import operations_sweep

    return operations_sweep()
