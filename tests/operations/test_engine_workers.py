"""The engine with real Celery worker processes and Redis: waiting operations do not hold workers,
admission limits hold under eight workers, and a fleet parent survives a worker killed mid-child."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from operations.models import Operation, OperationStep
from operations.services import operation_approve, operation_request, operations_sweep
from portal import roles
from tests.factories import UserFactory
from tests.operations.kinds_for_tests import FleetParameters, WaitParameters
from tests.processes import WorkerProcess, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

POOL = (
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/sql-1/elasticPools/pool-01"
)


@pytest.fixture
def workers(worker_env, tmp_path, engine_kinds):
    started: list[WorkerProcess] = []
    env = {**worker_env, "OPERATIONS_ADMISSION_RETRY_SECONDS": "1"}

    def start(count: int) -> list[WorkerProcess]:
        for _ in range(count):
            worker = WorkerProcess(
                env, tmp_path / f"worker-{len(started)}.log", app="tests.operations.worker_app"
            )
            worker.start()
            started.append(worker)
        for worker in started:
            worker.wait_ready()
        return started

    yield start
    # Ask them all to stop first: stopping eight one after another takes minutes on a busy box.
    for worker in started:
        if worker.process is not None and worker.process.poll() is None:
            worker.process.terminate()
    for worker in started:
        worker.stop()


def people():
    admin = UserFactory(username="ada.admin@fleetwise.example", groups=[roles.ADMINS])
    second = UserFactory(username="blake.admin@fleetwise.example", groups=[roles.ADMINS])
    return admin, second


def request(by, kind, parameters, subject_type, subject_id):
    from operations.kinds import Subject

    return operation_request(
        kind=kind,
        subject=Subject(subject_type, subject_id, subject_id.rsplit("/", 1)[-1]),
        requested_by=by,
        reason="drill",
        parameters=parameters,
    )


def states(ids) -> dict[str, int]:
    found: dict[str, int] = {}
    for state in Operation.objects.filter(pk__in=ids).values_list("state", flat=True):
        found[state] = found.get(state, 0) + 1
    return found


@pytest.mark.timeout(600)
def test_two_workers_carry_twenty_waiting_operations_and_still_run_a_quick_one_promptly(workers):
    admin, _ = people()
    pool_workers = workers(2)
    waiting = [
        request(
            admin,
            "test_wait",
            WaitParameters(seconds=40, look_again=1.0),
            Operation.Subject.ELASTIC_POOL,
            f"{POOL}-{n}",
        ).pk
        for n in range(20)
    ]
    wait_for(
        lambda: states(waiting) == {"running": 20},
        timeout=60,
        what="all twenty to be running",
        worker=pool_workers[0],
    )
    started = time.monotonic()
    quick = request(
        admin, "test_wait", WaitParameters(seconds=0), Operation.Subject.REGION, "australiaeast"
    )
    wait_for(
        lambda: Operation.objects.get(pk=quick.pk).state == "succeeded",
        timeout=30,
        what="the quick operation",
        worker=pool_workers[1],
    )
    latency = time.monotonic() - started
    assert latency < 10, f"the quick operation took {latency:.1f} s behind twenty waits"
    assert states(waiting) == {"running": 20}, "the twenty were still waiting on Azure meanwhile"
    wait_for(lambda: states(waiting) == {"succeeded": 20}, timeout=90, what="the twenty to finish")


def _peak_overlap(ids) -> int:
    """The most 'work' steps that were running at the same moment (from their own timestamps)."""
    edges = []
    for step in OperationStep.objects.filter(operation_id__in=ids, key="work"):
        edges += [(step.started_at, 1), (step.finished_at, -1)]
    peak = running = 0
    for _, change in sorted(edges, key=lambda edge: (edge[0], edge[1])):
        running += change
        peak = max(peak, running)
    return peak


@pytest.mark.postgres
@pytest.mark.timeout(900)  # eight worker processes start slowly on a busy machine
def test_eight_workers_never_run_more_than_four_restores_in_one_pool(workers, settings):
    admin, _ = people()
    eight = workers(8)
    ids = [
        request(
            admin,
            "test_restore_like",
            WaitParameters(seconds=2, look_again=0.3, pool_id=POOL),
            Operation.Subject.TENANT,
            f"tenant-{n:02d}",
        ).pk
        for n in range(12)
    ]
    try:
        wait_for(lambda: states(ids) == {"succeeded": 12}, timeout=150, what="twelve restores")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{states(ids)}\n{eight[0].log_tail()}") from None
    assert _peak_overlap(ids) == settings.RESTORE_MAX_PER_POOL


@pytest.mark.timeout(600)
def test_a_fleet_parent_finishes_after_a_worker_is_killed_mid_child(workers, settings):
    admin, second = people()
    pool_workers = workers(2)
    parent = request(
        admin,
        "test_fleet",
        FleetParameters(
            pools=[f"{POOL}-{n}" for n in range(4)],
            seconds=3,
            max_running=2,
            child_kind="test_sleep",
        ),
        Operation.Subject.FLEET,
        "fleet",
    )
    operation_approve(operation=parent, approver=second)
    wait_for(
        lambda: OperationStep.objects.filter(
            operation__parent=parent, key="work", state="running"
        ).exists(),
        what="a child at work",
        worker=pool_workers[0],
    )
    for worker in pool_workers:
        worker.kill()
    held = Operation.objects.filter(parent=parent, state="running").exclude(lease_id="")
    assert held.exists(), "a child was mid-step when its worker died"
    pool_workers[0].start()
    pool_workers[0].wait_ready()
    settings.OPERATIONS_LEASE_SECONDS = 6  # as the workers'
    wait_for(lambda: operations_sweep()["revived"], every=1.0, what="the sweep to revive")
    parent = wait_for(
        lambda: Operation.objects.filter(pk=parent.pk, state__in=Operation.FINISHED_STATES).first(),
        timeout=120,
        what="the fleet operation",
        worker=pool_workers[0],
    )
    assert parent.state == "succeeded", (parent.error_message, pool_workers[0].log_tail())
    assert states(parent.children.values_list("pk", flat=True)) == {"succeeded": 4}
    assert parent.steps.get().message == "4 children: 4 succeeded."
    assert parent.finished_at - parent.started_at > timedelta(seconds=6)
