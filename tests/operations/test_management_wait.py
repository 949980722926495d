"""The `--wait` printer: what it prints as an operation moves and how it ends the command.

The "worker" here is the engine run in-process from the printer's sleep, one visit per poll, so
the printer sees the same rows a real worker writes (the commands' `--wait` tests use a real
Celery worker)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from operations.engine import StepFailedError, operation_execute
from operations.kinds import OperationKind, Step, Wait, registered
from operations.management_wait import STILL_RUNNING_EXIT_STATUS, wait_and_print
from operations.models import Operation
from operations.services import operation_approve, operation_cancel, operation_request
from portal.roles import REQUEST_RESTORE
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Script:
    fail_at: str = ""
    # How many visits the second step waits for Azure before it is done.
    waits: int = 0
    approval: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def _first(context):
    return "copied"


def _second(context):
    script = context.parameters(Script)
    if script.fail_at == "second":
        raise StepFailedError("Azure refused the swap", code="SwapRefused")
    visits = context.get("visits", 0)
    if visits < script.waits:
        context.save(visits=visits + 1)
        return Wait(0.0, f"Azure is working… visit {visits + 1}")
    return "swapped"


KIND = OperationKind(
    name="test_waited",
    label="Waited change",
    permission=REQUEST_RESTORE,
    needs_approval=lambda: False,
    plan=lambda operation: [
        Step("first", "Copy", _first, undo=lambda context: "copy removed"),
        Step("second", "Swap", _second),
    ],
    parameters=Script,
)
APPROVED_KIND = OperationKind(
    name="test_waited_approved",
    label="Waited change needing approval",
    permission=REQUEST_RESTORE,
    needs_approval=lambda: True,
    plan=KIND.plan,
    parameters=Script,
)


@pytest.fixture(autouse=True)
def kinds():
    with registered(KIND, APPROVED_KIND):
        yield


def request(user, script, *, kind="test_waited"):
    return operation_request(
        kind=kind,
        tenant=TenantFactory(slug="acme"),
        requested_by=user,
        reason="ticket 7",
        parameters=script,
        enqueue=lambda pk, countdown: None,
    )


def worker_visits(operation: Operation, *also):
    """A sleep that runs one engine visit (and then anything in `also`, once each)."""
    pending = list(also)

    def sleep(seconds: float) -> None:
        if pending:
            pending.pop(0)()
        operation_execute(operation_id=operation.pk, enqueue=lambda pk, countdown: None)

    return sleep


def test_each_step_is_printed_as_it_moves_and_success_returns_the_operation(support):
    operation = request(support, Script(waits=2))
    out = io.StringIO()
    finished = wait_and_print(operation, out, poll_seconds=0, sleep=worker_visits(operation))
    text = out.getvalue()
    assert finished.state == "succeeded"
    assert "queued: waiting for a worker" in text
    assert "step 1/2 done: copied" in text
    assert "step 2/2 running: Azure is working… visit 1" in text
    assert "step 2/2 running: Azure is working… visit 2" in text
    assert "step 2/2 done: swapped" in text
    assert text.rstrip().splitlines()[-1].startswith(f"Operation #{operation.pk} succeeded at ")
    # Printed once each, not on every poll.
    assert text.count("visit 1") == 1
    assert text.count("queued") == 1


def test_a_failed_operation_rolled_back_ends_the_command_with_what_it_left(support):
    operation = request(support, Script(fail_at="second"))
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        wait_and_print(operation, out, poll_seconds=0, sleep=worker_visits(operation))
    message = str(raised.value)
    assert raised.value.returncode == 1
    assert f"Operation #{operation.pk} failed and was rolled back" in message
    assert "Azure refused the swap" in message
    assert "Rolled back" in message
    assert "step 2/2 failed: Azure refused the swap" in out.getvalue()
    assert "step 1/2 undone: copy removed" in out.getvalue()


def test_a_failure_with_nothing_to_undo_is_reported_as_failed_not_rolled_back(support):
    operation = request(support, Script(fail_at="second"))
    Operation.objects.filter(pk=operation.pk).update(
        state="failed", error_message="Quota exceeded", outcome="Nothing was changed in Azure."
    )
    with pytest.raises(CommandError) as raised:
        wait_and_print(operation, io.StringIO(), poll_seconds=0)
    assert f"#{operation.pk} failed at " in str(raised.value)
    assert "rolled back" not in str(raised.value)
    assert "Quota exceeded. Nothing was changed in Azure." in str(raised.value)


def test_an_operation_waiting_for_approval_says_so_once_and_runs_once_approved(support, admin_user):
    operation = request(support, Script(), kind="test_waited_approved")
    polls = {"n": 0}

    def approve_on_third_poll(seconds: float) -> None:
        polls["n"] += 1
        if polls["n"] == 3:
            operation_approve(
                operation=operation, approver=admin_user, enqueue=lambda pk, countdown: None
            )
        if polls["n"] >= 3:
            operation_execute(operation_id=operation.pk, enqueue=lambda pk, countdown: None)

    out = io.StringIO()
    wait_and_print(operation, out, poll_seconds=0, sleep=approve_on_third_poll)
    text = out.getvalue()
    assert text.count("waiting for a second person's approval (until ") == 1
    assert text.index("approval") < text.index("step 1/2 done")
    assert "succeeded" in text


def test_a_cancelled_operation_ends_the_command_with_an_error(support):
    operation = request(support, Script(waits=5))

    def cancel() -> None:
        operation_cancel(operation=Operation.objects.get(pk=operation.pk), by=support)

    with pytest.raises(CommandError) as raised:
        wait_and_print(
            operation,
            io.StringIO(),
            poll_seconds=0,
            sleep=worker_visits(operation, lambda: None, cancel),
        )
    assert f"Operation #{operation.pk} was cancelled at " in str(raised.value)
    assert raised.value.returncode == 1


def test_the_timeout_stops_watching_with_its_own_status_and_leaves_the_operation_alone(support):
    operation = request(support, Script())
    clock = iter(range(100))
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        wait_and_print(
            operation,
            out,
            poll_seconds=0,
            timeout_seconds=3,
            sleep=lambda seconds: None,
            monotonic=lambda: float(next(clock)),
        )
    assert raised.value.returncode == STILL_RUNNING_EXIT_STATUS
    assert "Stopped watching after 3 s" in str(raised.value)
    assert f"operation #{operation.pk} is queued and carries on" in str(raised.value)
    operation.refresh_from_db()
    assert operation.state == "queued"


def test_ctrl_c_stops_watching_without_touching_the_operation(support):
    operation = request(support, Script())

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(CommandError) as raised:
        wait_and_print(operation, io.StringIO(), poll_seconds=0, sleep=interrupted)
    assert raised.value.returncode == STILL_RUNNING_EXIT_STATUS
    assert "(interrupted)" in str(raised.value)
    operation.refresh_from_db()
    assert operation.state == "queued"


def test_a_parent_operation_prints_its_children_as_they_move(support):
    parent = request(support, Script())
    child = Operation.objects.create(
        subject_type="elastic_pool",
        subject_id="/pools/pool-a",
        subject_label="pool-a",
        parent=parent,
        kind="test_waited",
        state="queued",
        requested_by=support,
        reason="child",
    )

    def child_runs_then_parent_finishes() -> None:
        Operation.objects.filter(pk=child.pk).update(state="running")

    out = io.StringIO()
    wait_and_print(
        parent,
        out,
        poll_seconds=0,
        sleep=worker_visits(parent, child_runs_then_parent_finishes),
    )
    text = out.getvalue()
    assert f"child #{child.pk} (pool-a): queued" in text
    assert f"child #{child.pk} (pool-a): running" in text


@pytest.mark.parametrize("command", ["scale_tenant", "scale_pool"])
def test_wait_without_yes_is_refused_before_anything_is_planned(command, admin_user):
    subject = (
        ["acme", "--plan", "P1v3"]
        if command == "scale_tenant"
        else ["/pools/p", "--capacity", "100"]
    )
    with pytest.raises(CommandError, match="pass --yes with it"):
        call_command(
            command, *subject, "--requested-by", admin_user.username, "--reason", "x", "--wait"
        )
    assert not Operation.objects.exists()
