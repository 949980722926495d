"""The web profile: how SDK calls behave while a page is being answered.

Workers may wait on Azure (long timeouts, several retries honouring Retry-After). A web worker
must not: a page that reads Azure (the restore plan) gets short connect and read timeouts, at
most one retry, a Retry-After honoured only when it is short, and one time budget for the whole
request, so a slow or throttled Azure ties a web worker up for a few seconds at most and the
person sees a refusal that says so.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import RetryPolicy

CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 5
# A Retry-After longer than this is not waited for on a page: the page answers "busy" instead.
MAX_RETRY_AFTER_SECONDS = 2.0

# Monotonic time by which the current request must be done with Azure; None outside a page.
_deadline: ContextVar[float | None] = ContextVar("azure_web_deadline", default=None)


@contextmanager
def web_budget(seconds: float) -> Iterator[None]:
    """Within this block, SDK calls use the web profile and share `seconds` in all."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def in_web_profile() -> bool:
    return _deadline.get() is not None


def remaining_seconds() -> float | None:
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


class WebRetryPolicy(RetryPolicy[Any, Any]):
    """One retry at most, a Retry-After waited for only when short and within the budget,
    and every attempt's timeouts cut to what is left of the request's budget."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("retry_total", 1)
        kwargs.setdefault("retry_backoff_factor", 0.2)
        kwargs.setdefault("retry_backoff_max", MAX_RETRY_AFTER_SECONDS)
        super().__init__(**kwargs)

    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        settings = super().configure_retries(options)
        left = remaining_seconds()
        if left is not None:
            # azure-core refuses to send once this absolute timeout is spent.
            settings["timeout"] = min(settings["timeout"], max(left, 0.001))
        return settings

    def _configure_timeout(
        self, request: PipelineRequest[Any], absolute_timeout: float, is_response_error: bool
    ) -> None:
        super()._configure_timeout(request, absolute_timeout, is_response_error)
        # azure-core caps only the connect timeout by the absolute one; cap the read too.
        options = request.context.options
        options["read_timeout"] = min(
            options.get("read_timeout", READ_TIMEOUT_SECONDS), max(absolute_timeout, 0.001)
        )

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        if not super().is_retry(settings, response):
            return False
        wait = self.get_retry_after(response)
        if wait is None:
            return True
        left = remaining_seconds()
        return wait <= MAX_RETRY_AFTER_SECONDS and (left is None or wait < left)


def web_transport_options() -> dict[str, Any]:
    """Keyword arguments for SDK clients and credentials built for pages."""
    return {
        "connection_timeout": CONNECT_TIMEOUT_SECONDS,
        "read_timeout": READ_TIMEOUT_SECONDS,
        "retry_total": 1,
        "retry_policy_class": WebRetryPolicy,  # azure-identity's credentials
    }
