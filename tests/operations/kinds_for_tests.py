"""Operation kinds made for the engine's tests and benchmark: a long Azure wait simulated by the
clock (`Wait` until `seconds` have passed since the step began), the same wait done the old way
(sleeping in the worker), a quick one, a pool scale that excludes restores into its pool, a
restore-shaped kind with the restores' admission limits, and a fleet parent.

Worker processes load them through `tests.operations.worker_app` (the portal's Celery app plus
these kinds); in-process tests use the `engine_kinds` fixture, which unregisters them afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

from backups.restores import RestoreParameters, restore_limits, restores_in_pool
from operations.context import StepContext
from operations.fleet import ChildRequest, children_supervise
from operations.kinds import (
    Limit,
    OperationKind,
    Step,
    StepResult,
    Subject,
    Wait,
    register,
    unregister,
)
from operations.models import Operation
from portal.roles import REQUEST_RESTORE


@dataclass(frozen=True)
class WaitParameters:
    seconds: float = 1.0
    look_again: float = 0.5
    pool_id: str = ""


def _waited(context: StepContext) -> float:
    started = context.step.started_at or timezone.now()
    return (timezone.now() - started).total_seconds()


def wait_in_azure(context: StepContext) -> StepResult:
    parameters = context.parameters(WaitParameters)
    waited = _waited(context)
    if waited >= parameters.seconds:
        return f"Azure finished after {waited:.1f} s."
    return Wait(parameters.look_again, f"Azure is working… {waited:.0f} s so far.")


def sleep_in_worker(context: StepContext) -> str:
    """The old way: hold the worker, renewing the lease, until Azure is done."""
    parameters = context.parameters(WaitParameters)
    deadline = time.monotonic() + parameters.seconds
    while time.monotonic() < deadline:
        time.sleep(min(parameters.look_again, max(0.0, deadline - time.monotonic())))
        context.heartbeat("Azure is working…")
    return "Azure finished."


def _no_limits(parameters: WaitParameters) -> list[Limit]:
    return []


def _wait_kind(
    name: str,
    run: Callable[[StepContext], StepResult],
    *,
    limits: Callable[[WaitParameters], list[Limit]] = _no_limits,
) -> OperationKind:
    return OperationKind(
        name=name,
        label=name.replace("_", " ").capitalize(),
        permission=REQUEST_RESTORE,
        needs_approval=lambda: False,
        plan=lambda operation: [Step("work", "Wait for Azure", run)],
        parameters=WaitParameters,
        limits=limits,
    )


def _restore_shaped_limits(parameters: WaitParameters) -> list[Limit]:
    return restore_limits(_restore_like(parameters))


def _restore_like(parameters: WaitParameters) -> RestoreParameters:
    return RestoreParameters(
        mode="parallel",
        source="point_in_time",
        create_mode="PointInTimeRestore",
        database_id="",
        server_id="",
        elastic_pool_id=parameters.pool_id,
        subscription_id="test-subscription",
        location="australiaeast",
        site_id="",
        target_name="",
        target_id="",
    )


def _pool_scale_limits(parameters: WaitParameters) -> list[Limit]:
    return [restores_in_pool(parameters.pool_id, whole=True)]


@dataclass(frozen=True)
class FleetParameters:
    pools: list[str] = field(default_factory=list)
    seconds: float = 1.0
    max_running: int = 2
    # "test_sleep" holds a worker through each child (to kill a worker mid-child).
    child_kind: str = "test_pool_scale"


def supervise_pools(context: StepContext) -> StepResult:
    parameters = context.parameters(FleetParameters)
    return children_supervise(
        context,
        children=[
            ChildRequest(
                parameters.child_kind,
                Subject(Operation.Subject.ELASTIC_POOL, pool, pool.rsplit("/", 1)[-1]),
                WaitParameters(seconds=parameters.seconds, look_again=0.3, pool_id=pool),
            )
            for pool in parameters.pools
        ],
        max_running=parameters.max_running,
        look_again_seconds=0.3,
    )


def engine_test_kinds() -> list[OperationKind]:
    return [
        _wait_kind("test_wait", wait_in_azure),
        _wait_kind("test_sleep", sleep_in_worker),
        _wait_kind("test_restore_like", wait_in_azure, limits=_restore_shaped_limits),
        _wait_kind("test_pool_scale", wait_in_azure, limits=_pool_scale_limits),
        OperationKind(
            name="test_fleet",
            label="Scale every pool",
            permission=REQUEST_RESTORE,
            needs_approval=lambda: True,
            plan=lambda operation: [Step("children", "Scale the pools", supervise_pools)],
            parameters=FleetParameters,
            pausable=True,
        ),
    ]


def register_test_kinds() -> None:
    for kind in engine_test_kinds():
        register(kind)


def unregister_test_kinds() -> None:
    for kind in engine_test_kinds():
        unregister(kind.name)
