"""Who and what a log line is about: the request id (set by RequestIdMiddleware, and in a worker
from the enqueuing request's task headers) and the operation id (set by the engine while it runs
an operation). Kept free of Django models so the logging configuration can load it early."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from opentelemetry import trace


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    source_ip: str | None


current_request: ContextVar[RequestContext | None] = ContextVar("current_request", default=None)
current_operation: ContextVar[int | None] = ContextVar("current_operation", default=None)


@contextmanager
def operation_context(operation_id: int) -> Iterator[None]:
    """Log lines (and the current span) inside the block name the operation."""
    token = current_operation.set(operation_id)
    trace.get_current_span().set_attribute("fleetwise.operation_id", operation_id)
    try:
        yield
    finally:
        current_operation.reset(token)


class LogContextFilter(logging.Filter):
    """Adds `request_id` and `operation_id` to every record ("-" when there is none), so the
    console format can print them and the OpenTelemetry log handler exports them as attributes
    (custom dimensions in Application Insights). Attach it to handlers, not loggers: a logger's
    filters do not see records propagated from its children."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = current_request.get()
        operation = current_operation.get()
        record.request_id = request.request_id if request else "-"
        record.operation_id = str(operation) if operation is not None else "-"
        return True
