"""A task's telemetry across processes: a request in this process enqueues a refresh; a real Celery
worker, exporting over OTLP/HTTP to a receiver in this test, runs it. The worker's task span is a
child of the request's producer span (same trace), the task's SDK calls are in that trace, and
the worker's log lines for the task, on its console and exported, carry the request's id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.trace import SpanKind

from monitoring.models import RefreshRun
from portal import roles
from portal.demo_telemetry import OtlpReceiver
from portal.management.commands.load_demo import catalogue_entry
from tenants.services import tenant_import
from tests.factories import UserFactory
from tests.processes import WorkerProcess, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def receiver(tmp_path) -> Iterator[OtlpReceiver]:
    """The demo's OTLP receiver (portal/demo_telemetry.py) on a free port."""
    server = OtlpReceiver(tmp_path / "telemetry", port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def traced_worker(worker_env, receiver, tmp_path) -> Iterator[WorkerProcess]:
    env = {
        **worker_env,
        "PORTAL_TELEMETRY": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_BLRP_SCHEDULE_DELAY": "200",
    }
    process = WorkerProcess(env, tmp_path / "worker.log")
    process.start()
    yield process
    process.stop()


def test_the_workers_task_span_continues_the_trace_of_the_request_that_enqueued_it(
    spans, receiver, traced_worker, azure_emulator, client
):
    entry = catalogue_entry(azure_emulator.tenants[1])
    tenant_import(entries=[entry], actor=None)
    person = UserFactory(username="sam.support@fleetwise.example", groups=[roles.SUPPORT])
    client.force_login(person)

    response = client.post(f"/monitoring/refresh/{entry['slug']}")
    assert response.status_code == 302

    [request] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    [publish] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.PRODUCER]
    assert publish.name == "apply_async/monitoring.refresh_run"
    assert publish.parent is not None and publish.parent.span_id == request.context.span_id
    trace_id = f"{request.context.trace_id:032x}"

    def task_span() -> dict[str, Any] | None:
        runs = [s for s in receiver.spans() if s["name"] == "run/monitoring.refresh_run"]
        return runs[0] if runs else None

    run = wait_for(task_span, timeout=180, what="the worker's task span", worker=traced_worker)
    assert run["trace_id"] == trace_id
    assert run["parent_span_id"] == f"{publish.context.span_id:016x}"
    assert run["service"] == "fleetwise-ops-worker"
    # The task read Azure: its SDK calls are spans of the same trace.
    wait_for(
        lambda: RefreshRun.objects.filter(finished_at__isnull=False).exists(),
        timeout=180,
        what="the refresh to finish",
        worker=traced_worker,
    )
    sdk_calls = wait_for(
        lambda: [
            s for s in receiver.spans() if s["trace_id"] == trace_id and "Operations." in s["name"]
        ],
        what="the task's SDK spans",
        worker=traced_worker,
    )
    assert sdk_calls
    # And the worker's log lines for the task name the request (its id travels in the headers).
    request_id = response["X-Request-ID"]
    wait_for(
        lambda: f"[request={request_id} operation=-]" in traced_worker.log_tail(2000),
        what="a worker log line naming the request",
        worker=traced_worker,
    )
    # The exported log records carry it as an attribute (a custom dimension in App Insights).
    wait_for(
        lambda: [r for r in receiver.logs() if r["attributes"].get("request_id") == request_id],
        what="an exported log record with the request id",
        worker=traced_worker,
    )
