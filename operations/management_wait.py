"""`--wait` for management commands that request an operation: follow it until it finishes,
printing each step as it moves, and end the command the way a script can test.

    from operations.management_wait import add_wait_arguments, wait_and_print

    add_wait_arguments(parser)                 # in add_arguments
    if options["wait"]:                        # in handle, after the request
        wait_and_print(operation, self.stdout, timeout_seconds=options["wait_timeout"])

Succeeded returns the operation; failed, rolled back or cancelled raise CommandError (exit
status 1) with what the operation left behind; giving up waiting (the timeout, Ctrl-C) raises
CommandError with status 3 and says that the operation carries on on the workers, since
stopping to watch does not stop the operation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from django.core.management.base import CommandError, CommandParser, OutputWrapper
from django.core.management.color import color_style
from django.utils import timezone

from operations.models import Operation, OperationStep
from portal.times import local_and_utc, portal_zone

# The exit status when the command stops watching but the operation goes on (1 is "failed").
STILL_RUNNING_EXIT_STATUS = 3


@dataclass(frozen=True)
class Seen:
    """One look at the operation: its state and, per step and per child, what was shown."""

    state: str
    paused: bool
    steps: dict[int, tuple[str, str]]  # position -> (state, message)
    children: dict[int, tuple[str, str]]  # child id -> (label, state)


def add_wait_arguments(parser: CommandParser) -> None:
    """`--wait` and `--wait-timeout`, worded the same on every command."""
    parser.add_argument(
        "--wait",
        action="store_true",
        help="follow the operation until it finishes; exit 1 if it fails, is rolled back or "
        "is cancelled",
    )
    parser.add_argument(
        "--wait-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"with --wait: stop watching after this long (exit {STILL_RUNNING_EXIT_STATUS}; "
        "the operation carries on)",
    )


def look(operation_id: int) -> tuple[Operation, Seen]:
    """Read the operation, its steps and its children afresh."""
    operation = Operation.objects.get(pk=operation_id)
    steps = {
        row.position: (row.state, row.message)
        for row in OperationStep.objects.filter(operation_id=operation_id)
    }
    children = {
        child.pk: (child.subject_label, child.state)
        for child in Operation.objects.filter(parent_id=operation_id).order_by("pk")
    }
    return operation, Seen(operation.state, operation.is_paused, steps, children)


def _clock(moment: datetime | None = None) -> str:
    return (moment or timezone.now()).astimezone(portal_zone()).strftime("%H:%M:%S")


def _state_line(operation: Operation, seen: Seen) -> str | None:
    if seen.paused:
        return "paused: the workers will not take it up again until someone resumes it"
    if seen.state == Operation.State.AWAITING_APPROVAL:
        until = operation.approval_expires_at
        deadline = f" (until {local_and_utc(until)})" if until else ""
        return f"waiting for a second person's approval{deadline}"
    if seen.state == Operation.State.QUEUED:
        return "queued: waiting for a worker"
    if seen.state == Operation.State.RUNNING:
        return "running"
    return None


def changes(operation: Operation, before: Seen | None, now: Seen) -> list[str]:
    """The lines to print for what changed between two looks (everything on the first look)."""
    lines: list[str] = []
    moved = before is None or (before.state, before.paused) != (now.state, now.paused)
    state_line = _state_line(operation, now) if moved else None
    if state_line:
        lines.append(f"Operation #{operation.pk}: {state_line}.")
    total = len(now.steps)
    for position, (state, message) in sorted(now.steps.items()):
        if before is not None and before.steps.get(position) == (state, message):
            continue
        if before is None and state == OperationStep.State.PENDING:
            continue  # the plan was printed by the command; show steps as they move
        label = OperationStep.State(state).label.lower()
        lines.append(f"  step {position}/{total} {label}" + (f": {message}" if message else ""))
    for child_id, (subject, state) in now.children.items():
        if before is None or before.children.get(child_id) != (subject, state):
            label = Operation.State(state).label.lower()
            lines.append(f"  child #{child_id} ({subject}): {label}")
    return lines


def verdict(operation: Operation) -> str:
    """The last line for a succeeded operation; CommandError for any other ending."""
    ended = local_and_utc(operation.finished_at or timezone.now())
    if operation.state == Operation.State.SUCCEEDED:
        return f"Operation #{operation.pk} succeeded at {ended}."
    outcome = f" {operation.outcome}" if operation.outcome else ""
    if operation.state == Operation.State.CANCELLED:
        raise CommandError(f"Operation #{operation.pk} was cancelled at {ended}.{outcome}")
    how = "failed and was rolled back" if operation.outcome.startswith("Rolled back") else "failed"
    error = operation.error_message or operation.error_code or "no error message"
    raise CommandError(f"Operation #{operation.pk} {how} at {ended}: {error}.{outcome}")


def wait_and_print(
    operation: Operation,
    stdout: OutputWrapper | TextIO,
    *,
    poll_seconds: float = 1.0,
    timeout_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Operation:
    """Follow `operation` until it finishes, printing what moves (to a command's `self.stdout`
    or any text stream, a line each). Returns it if it succeeded; raises CommandError if it
    failed, was rolled back or cancelled, or if we stopped watching."""
    out = stdout if isinstance(stdout, OutputWrapper) else OutputWrapper(stdout)
    deadline = None if timeout_seconds is None else monotonic() + timeout_seconds
    before: Seen | None = None
    try:
        while True:
            current, seen = look(operation.pk)
            for line in changes(current, before, seen):
                out.write(f"{_clock()} {line}")
            before = seen
            if current.is_finished:
                out.write(verdict(current), style_func=color_style().SUCCESS)
                return current
            if deadline is not None and monotonic() >= deadline:
                raise _stopped_watching(current, f"after {timeout_seconds:g} s")
            sleep(poll_seconds)
    except KeyboardInterrupt:
        raise _stopped_watching(operation, "(interrupted)") from None


def _stopped_watching(operation: Operation, why: str) -> CommandError:
    operation.refresh_from_db(fields=["state"])
    state = operation.get_state_display().lower()
    return CommandError(
        f"Stopped watching {why}: operation #{operation.pk} is {state} and carries on without "
        f"this command (follow it on its page, /operations/{operation.pk}/).",
        returncode=STILL_RUNNING_EXIT_STATUS,
    )
