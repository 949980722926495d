"""Counting the Azure calls a piece of work makes (every HTTP attempt, retries included) and the
429s it met, so the refresh can report calls per tenant and the benchmark can hold it to a budget.

Clients carry `observe` as their response hook (it runs after the SDK's retry policy, so once
per attempt); `observe` adds to the meter active in the current context, if any. Work handed to
threads must run in a copy of the caller's context (`contextvars.copy_context().run`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any


class CallMeter:
    """Thread-safe counts of Azure calls made and 429 (throttled) answers seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.throttled = 0

    def add(self, status: int) -> None:
        with self._lock:
            self.calls += 1
            if status == 429:
                self.throttled += 1


_current: ContextVar[CallMeter | None] = ContextVar("azure_call_meter", default=None)


@contextmanager
def metered() -> Iterator[CallMeter]:
    """Count the Azure calls made inside the block (and in threads run in its context)."""
    meter = CallMeter()
    token = _current.set(meter)
    try:
        yield meter
    finally:
        _current.reset(token)


def observe(response: Any) -> None:
    """azure-core `raw_response_hook`: one call per HTTP attempt."""
    meter = _current.get()
    if meter is not None:
        meter.add(int(response.http_response.status_code))
