"""Two kinds for the engine benchmark: a step that waits on a long Azure operation by returning
`Wait` (the engine's way), and the same wait done the old way, sleeping in the worker while
renewing the lease. The LRO is simulated by the clock (`seconds` after the step began), so the
figures measure the engine and Celery, not Azure. A third, quick kind is the work queued behind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.utils import timezone

from operations.context import StepContext
from operations.kinds import OperationKind, Step, StepResult, Wait, register
from portal.roles import REQUEST_RESTORE


@dataclass(frozen=True)
class BenchWait:
    seconds: float = 60.0
    look_again: float = 5.0


def _waited(context: StepContext) -> float:
    return (timezone.now() - (context.step.started_at or timezone.now())).total_seconds()


def wait_by_returning(context: StepContext) -> StepResult:
    parameters = context.parameters(BenchWait)
    waited = _waited(context)
    if waited >= parameters.seconds:
        return f"Done after {waited:.0f} s."
    return Wait(parameters.look_again, f"Waiting on Azure… {waited:.0f} s so far.")


def wait_by_sleeping(context: StepContext) -> str:
    parameters = context.parameters(BenchWait)
    deadline = time.monotonic() + parameters.seconds
    while time.monotonic() < deadline:
        time.sleep(min(parameters.look_again, max(0.0, deadline - time.monotonic())))
        context.heartbeat("Waiting on Azure…")
    return "Done."


def register_bench_kinds() -> None:
    for name, run in (
        ("bench_wait", wait_by_returning),
        ("bench_sleep", wait_by_sleeping),
        ("bench_quick", wait_by_returning),
    ):
        register(
            OperationKind(
                name=name,
                label=name,
                permission=REQUEST_RESTORE,
                needs_approval=lambda: False,
                plan=lambda operation, run=run: [Step("work", "Wait on Azure", run)],  # type: ignore[misc]
                parameters=BenchWait,
            )
        )
