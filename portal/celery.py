"""The Celery app. Configuration comes from Django settings under the CELERY_ namespace."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    beat_init,
    before_task_publish,
    celeryd_init,
    task_postrun,
    task_prerun,
    worker_process_init,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
# The current app is per thread: without a default, a request served on another thread
# (runserver, the live test server) sends tasks through Celery's bare fallback app, which has
# none of the portal's configuration.
app.set_default()
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@celeryd_init.connect
def _workers_reconnect_patiently(conf: Any, **kwargs: Any) -> None:
    """The settings give up on Redis after a couple of seconds so that a page never hangs on
    an enqueue; a worker, though, should wait out a Redis restart rather than exit."""
    conf.broker_connection_retry = True
    conf.broker_connection_max_retries = None  # forever
    conf.result_backend_transport_options = {}  # Celery's default: about 20 s of retries


@after_setup_logger.connect
@after_setup_task_logger.connect
def _ids_in_worker_logs(logger: Any = None, **kwargs: Any) -> None:
    """Celery replaces the LOGGING handlers with its own: give those the ids too."""
    from portal.log_context import LogContextFilter

    for handler in logger.handlers if logger is not None else []:
        handler.addFilter(LogContextFilter())


@worker_process_init.connect
def _worker_telemetry(**kwargs: Any) -> None:
    """In each pool process, after the fork (exporter threads do not survive one)."""
    from portal.telemetry import telemetry_configure

    telemetry_configure(role="worker")


@beat_init.connect
def _beat_telemetry(**kwargs: Any) -> None:
    from portal.telemetry import telemetry_configure

    telemetry_configure(role="beat")


# The enqueuing request's id travels in the message headers, so the worker's log lines for the
# task carry it (the trace context travels the same way, through the Celery instrumentation).
REQUEST_ID_HEADER = "fleetwise_request_id"


@before_task_publish.connect
def _request_id_to_headers(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    from portal.log_context import current_request

    request = current_request.get()
    if request is not None and headers is not None:
        headers[REQUEST_ID_HEADER] = request.request_id


_request_tokens: dict[str, Any] = {}


@task_prerun.connect
def _request_id_from_headers(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    from portal.log_context import RequestContext, current_request

    request_id = getattr(task.request, REQUEST_ID_HEADER, None) if task is not None else None
    if request_id:
        _request_tokens[task_id] = current_request.set(RequestContext(str(request_id), None))


@task_postrun.connect
def _request_id_forgotten(task_id: str = "", **kwargs: Any) -> None:
    from portal.log_context import current_request

    token = _request_tokens.pop(task_id, None)
    if token is not None:
        current_request.reset(token)
