"""Long-running operations that outlive the process that started them.

A restore takes minutes to hours; the Celery worker that starts it may be killed before it ends.
So starting an operation returns the SDK poller's continuation token (JSON since azure-core 1.38:
the initial response's status, `Azure-AsyncOperation`/`Location`/`Retry-After` headers and body)
and never waits; any process can later rebuild the poller from the token with the operation's own
`begin_*(..., continuation_token=...)` and poll it for a bounded time.

The SDK's `LROPoller` polls on a thread of its own until the operation ends; a caller that waits
with a timeout would leave that thread polling ARM (and spending the subscription's read budget)
after it gave up. `_BoundedArmPolling` stops polling at the caller's deadline instead.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from azure.core.polling import LROPoller
from azure.mgmt.core.polling.arm_polling import ARMPolling

from portal.azure.clients import azure_clients, polling_interval
from portal.azure.errors import (
    AzureNotFoundError,
    AzureOperationError,
    AzureTransientError,
    azure_errors,
)


@dataclass(frozen=True)
class LroOutcome:
    """Where an operation stands. `done` False: still running when the wait ran out.
    `succeeded` False with `done`: Azure reports it failed (or was cancelled), with Azure's code."""

    done: bool
    succeeded: bool
    status: str
    error_code: str = ""
    error_message: str = ""


class _OutOfTime(Exception):
    """Raised inside the polling thread when the next poll would pass the caller's deadline."""


class _BoundedArmPolling(ARMPolling):
    """ARMPolling that polls for at most `budget_seconds` (None: not at all, for `begin`).

    The delay between polls is still ARM's `Retry-After` when sent (the emulator sends 1 s),
    else the client's polling interval (docs/azure-behaviours.md §0.5).
    """

    def __init__(self, *, budget_seconds: float | None) -> None:
        super().__init__(
            polling_interval(),
            path_format_arguments={"endpoint": azure_clients().connection.arm_endpoint},
        )
        self._budget = budget_seconds
        self._deadline = 0.0

    def run(self) -> None:
        if self._budget is None:
            return
        self._deadline = time.monotonic() + self._budget
        # Out of time is not an error: the operation goes on in Azure; `finished()` says so.
        with contextlib.suppress(_OutOfTime):
            super().run()

    def _delay(self) -> None:
        delay = self._extract_delay()
        if time.monotonic() + delay > self._deadline:
            raise _OutOfTime
        self._sleep(delay)


StartFn = Callable[[_BoundedArmPolling], "LROPoller[Any]"]
ResumeFn = Callable[[_BoundedArmPolling, str], "LROPoller[Any]"]


def begin(start: StartFn) -> str:
    """Send the initial request (through `start(polling)`) and return the continuation token."""
    with azure_errors():
        poller = start(_BoundedArmPolling(budget_seconds=None))
        poller.wait()
        return poller.continuation_token()


def wait(resume: ResumeFn, continuation_token: str, *, timeout_seconds: float) -> LroOutcome:
    """Poll the operation behind `continuation_token` for up to `timeout_seconds`.

    Throttling or an outage while polling raises AzureTransientError (poll again later); an
    operation the status monitor no longer knows raises AzureNotFoundError; Azure reporting that
    the operation failed is an outcome, not an exception.
    """
    polling = _BoundedArmPolling(budget_seconds=max(0.0, timeout_seconds))
    try:
        with azure_errors():
            try:
                poller = resume(polling, continuation_token)
            except ValueError as exc:
                # azure-core refuses a token it cannot decode (older format, or not a token).
                raise AzureOperationError(
                    f"The continuation token cannot be resumed: {exc}", code="InvalidToken"
                ) from exc
            poller.wait()
    except (AzureTransientError, AzureNotFoundError):
        raise
    except AzureOperationError as error:
        if error.code == "InvalidToken":
            raise
        if error.status == 404:
            # The status monitor no longer knows the operation (Azure keeps operation records
            # for a limited time). That says nothing about how it ended: look at the resource.
            raise AzureNotFoundError(
                "Azure no longer knows this operation; check the resource it was changing.",
                code=error.code or "OperationNotFound",
                status=404,
            ) from error
        # The status monitor answered Failed/Canceled, or the Location poll answered with the
        # operation's error: the operation is over, and Azure said why.
        return LroOutcome(
            done=True,
            succeeded=False,
            status=polling.status(),
            error_code=error.code,
            error_message=error.message,
        )
    if not polling.finished():
        return LroOutcome(done=False, succeeded=False, status=polling.status())
    return LroOutcome(done=True, succeeded=True, status=polling.status())


def run(start: StartFn, *, timeout_seconds: float) -> Any:
    """Start an operation that normally ends within seconds (tags, policies) and wait for it;
    returns the SDK's result. Azure's failure raises AzureOperationError with its code; still
    running after `timeout_seconds` raises AzureTransientError (check again later)."""
    polling = _BoundedArmPolling(budget_seconds=max(0.0, timeout_seconds))
    with azure_errors():
        poller = start(polling)
        poller.wait()
        if not polling.finished():
            raise AzureTransientError(
                f"The operation was still running after {timeout_seconds:g} s.",
                code="OperationStillRunning",
            )
        return poller.result()
