"""The demo's OTLP receiver (portal/demo_telemetry.py): the SDK's own OTLP/HTTP exporters send it a
span, a log record and metrics; they land in its files and on its page."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import StatusCode

from portal.demo_telemetry import OtlpReceiver
from tests.conftest import free_port
from tests.processes import wait_for

REPO = Path(__file__).resolve().parents[2]
RESOURCE = Resource.create({"service.name": "fleetwise-ops-web"})


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[OtlpReceiver]:
    server = OtlpReceiver(tmp_path / "telemetry", port=0)
    server.start()
    yield server
    server.stop()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def test_a_span_sent_by_the_otlp_exporter_is_in_the_file_and_on_the_page(receiver):
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces"))
    )
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("GET tenants/<slug>") as span:
        span.set_attribute("fleetwise.request_id", "req-0123456789")
        span.set_status(StatusCode.ERROR)
        trace_id = f"{span.get_span_context().trace_id:032x}"
    provider.shutdown()

    [row] = receiver.spans()
    assert row["name"] == "GET tenants/<slug>"
    assert row["service"] == "fleetwise-ops-web"
    assert row["trace_id"] == trace_id
    assert row["status"] == "error"
    assert row["duration_ms"] >= 0
    assert row["attributes"]["fleetwise.request_id"] == "req-0123456789"
    status, page = _get(receiver.endpoint + "/")
    assert status == 200
    assert "GET tenants/&lt;slug&gt;" in page
    assert trace_id in page and "req-0123456789" in page


def test_a_log_record_sent_by_the_otlp_exporter_is_in_the_file_and_on_the_page(receiver):
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{receiver.endpoint}/v1/logs"))
    )
    logger = logging.getLogger("tests.demo_telemetry")
    logger.propagate = False
    handler = LoggingHandler(logger_provider=provider)
    logger.addHandler(handler)
    try:
        logger.warning("restore of %s queued", "contoso", extra={"request_id": "req-abcdef12"})
    finally:
        logger.removeHandler(handler)
        provider.shutdown()

    [row] = receiver.logs()
    assert row["body"] == "restore of contoso queued"
    assert row["severity"] == "WARN"
    assert row["service"] == "fleetwise-ops-web"
    assert row["attributes"]["request_id"] == "req-abcdef12"
    page = _get(receiver.endpoint + "/")[1]
    assert "restore of contoso queued" in page and "req-abcdef12" in page


def test_metrics_are_accepted_and_listed_by_name(receiver):
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{receiver.endpoint}/v1/metrics"),
        export_interval_millis=3_600_000,
    )
    provider = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    provider.get_meter("test").create_counter("fleetwise.refreshes").add(3)
    provider.shutdown()  # exports what was recorded

    [row] = [m for m in receiver.metrics() if m["name"] == "fleetwise.refreshes"]
    assert row["kind"] == "sum" and row["data_points"] == 1


def test_the_page_shows_only_the_newest_rows_newest_first(receiver):
    rows = [
        {
            "time": f"t{i}",
            "service": "s",
            "name": f"span-{i:03}",
            "duration_ms": 1.0,
            "trace_id": "0" * 32,
            "status": "ok",
            "attributes": {},
        }
        for i in range(250)
    ]
    (receiver.directory / "spans.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    newest = receiver.newest("spans.jsonl")
    assert [r["name"] for r in newest[:2]] == ["span-249", "span-248"]
    assert len(newest) == 200
    page = receiver.page()
    assert "span-249" in page and "span-050" in page and "span-049" not in page


def test_garbage_and_unknown_paths_are_refused_and_nothing_is_written(receiver):
    request = urllib.request.Request(
        receiver.endpoint + "/v1/traces", data=b"\xff\xff not protobuf", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert _get(receiver.endpoint + "/v1/nothing")[0] == 404
    assert receiver.spans() == []
    assert _get(receiver.endpoint + "/")[1].count("Nothing yet.") == 2


def _procfile_otel_command() -> str:
    [line] = [
        line for line in (REPO / "Procfile").read_text().splitlines() if line.startswith("otel:")
    ]
    return line.removeprefix("otel:").strip()


def test_the_procfiles_otel_process_receives_what_an_exporter_sends_to_the_demos_endpoint(
    tmp_path, monkeypatch
):
    port = free_port()
    # The Procfile's own line, run in a scratch directory with this interpreter.
    command = _procfile_otel_command().replace(".venv/bin/python", sys.executable)
    env = {**os.environ, "DEMO_OTLP_PORT": str(port), "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=tmp_path, env=env)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_for(lambda: _up(endpoint), timeout=60, what="the otel process to listen")
        # As `make demo` sets it: the base URL, to which the exporter adds /v1/traces.
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        provider = TracerProvider(resource=RESOURCE)
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
        provider.get_tracer("test").start_span("load_demo check").end()
        provider.shutdown()
        spans_file = tmp_path / "var" / "telemetry" / "spans.jsonl"
        assert "load_demo check" in spans_file.read_text()
        assert "load_demo check" in _get(endpoint + "/")[1]
    finally:
        process.terminate()
        process.wait(timeout=30)


def _up(endpoint: str) -> bool:
    try:
        return _get(endpoint + "/")[0] == 200
    except OSError:
        return False
