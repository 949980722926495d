"""Running operations step by step in the test's own process (no Celery): each visit is what a
worker's task would do; children a parent starts are picked up too."""

from __future__ import annotations

import time
from typing import Any

from operations.engine import operation_execute
from operations.models import Operation
from operations.services import operation_approve


def drive(*operations: Operation, seconds: float = 90) -> None:
    """Visit the operations (and their children) until every one has finished."""
    pending = {o.pk for o in operations}
    deadline = time.monotonic() + seconds
    states: dict[int, str] = {}

    def enqueue(pk: int, countdown: float) -> None:
        pending.add(pk)

    while time.monotonic() < deadline:
        for pk in sorted(pending):
            operation_execute(operation_id=pk, enqueue=enqueue)
        # Enqueueing happens on commit, which a test's transaction never reaches: pick up the
        # children a parent started here.
        pending |= set(Operation.objects.filter(parent_id__in=pending).values_list("pk", flat=True))
        states = dict(Operation.objects.filter(pk__in=pending).values_list("pk", "state"))
        if all(state in Operation.FINISHED_STATES for state in states.values()):
            for operation in operations:
                operation.refresh_from_db()
            return
        time.sleep(0.3)
    raise AssertionError(f"still running after {seconds} s: {states}")


def approve(operation: Operation, approver: Any) -> Operation:
    return operation_approve(operation=operation, approver=approver, enqueue=lambda pk, c: None)
