"""The demo's stand-in for an OpenTelemetry collector, so anyone can see what the portal's processes
export: `python -m portal.demo_telemetry --dir var/telemetry --port 4318`. It accepts OTLP over
HTTP/protobuf (`/v1/traces`, `/v1/logs`, `/v1/metrics`), appends one JSON line per span, log
record and metric to `spans.jsonl`, `logs.jsonl` and `metrics.jsonl` in --dir, and serves a page
of the newest spans and log records at `GET /`. Tests use the same class. Never used in
production (nothing in the portal imports it); docs/telemetry.md says how the demo wires it up.
"""

from __future__ import annotations

import argparse
import html
import json
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError  # type: ignore[import-untyped]  # no stubs installed
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

PAGE_ROWS = 200
# The page reads only the end of each file: a demo left running for days must not make it slow.
_TAIL_BYTES = 1 << 20
_STATUS = {0: "unset", 1: "ok", 2: "error"}


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def _attributes(attributes: Iterable[KeyValue]) -> dict[str, Any]:
    return {a.key: _value(a.value) for a in attributes}


def _service(resource: Resource) -> str:
    return str(_attributes(resource.attributes).get("service.name", ""))


def _iso(nanos: int) -> str:
    return datetime.fromtimestamp(nanos / 1e9, UTC).isoformat(timespec="milliseconds")


def spans_decode(body: bytes) -> list[dict[str, Any]]:
    """One dict per span of an ExportTraceServiceRequest."""
    rows = []
    for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans:
        service = _service(resource_spans.resource)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                rows.append(
                    {
                        "time": _iso(span.start_time_unix_nano),
                        "service": service,
                        "name": span.name,
                        "duration_ms": round(
                            (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6, 3
                        ),
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "status": _STATUS.get(span.status.code, str(span.status.code)),
                        "attributes": _attributes(span.attributes),
                    }
                )
    return rows


def logs_decode(body: bytes) -> list[dict[str, Any]]:
    """One dict per log record of an ExportLogsServiceRequest."""
    rows = []
    for resource_logs in ExportLogsServiceRequest.FromString(body).resource_logs:
        service = _service(resource_logs.resource)
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                rows.append(
                    {
                        "time": _iso(record.time_unix_nano or record.observed_time_unix_nano),
                        "service": service,
                        "severity": record.severity_text,
                        "body": _value(record.body),
                        "trace_id": record.trace_id.hex(),
                        "span_id": record.span_id.hex(),
                        "attributes": _attributes(record.attributes),
                    }
                )
    return rows


def metrics_decode(body: bytes) -> list[dict[str, Any]]:
    """One dict per metric (its name, kind and how many data points) of an export."""
    rows = []
    for resource_metrics in ExportMetricsServiceRequest.FromString(body).resource_metrics:
        service = _service(resource_metrics.resource)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data") or ""
                points = getattr(metric, kind).data_points if kind else []
                rows.append(
                    {
                        "time": _iso(time.time_ns()),
                        "service": service,
                        "name": metric.name,
                        "unit": metric.unit,
                        "kind": kind,
                        "data_points": len(points),
                    }
                )
    return rows


_SIGNALS = {
    "/v1/traces": ("spans.jsonl", spans_decode),
    "/v1/logs": ("logs.jsonl", logs_decode),
    "/v1/metrics": ("metrics.jsonl", metrics_decode),
}


class OtlpReceiver:
    """An OTLP/HTTP receiver that appends what it is sent to JSON-lines files in `directory`."""

    def __init__(self, directory: Path, *, host: str = "127.0.0.1", port: int = 4318) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """What OTEL_EXPORTER_OTLP_ENDPOINT should be set to."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def receive(self, path: str, body: bytes) -> int:
        """Decode and append an export; returns the HTTP status to answer."""
        if path not in _SIGNALS:
            return 404
        filename, decode = _SIGNALS[path]
        try:
            rows = decode(body)
        except DecodeError:
            return 400
        lines = "".join(json.dumps(row) + "\n" for row in rows)
        with self.lock, (self.directory / filename).open("a", encoding="utf-8") as file:
            file.write(lines)
        return 200

    def spans(self) -> list[dict[str, Any]]:
        """Every span received, oldest first."""
        return self._read("spans.jsonl")

    def logs(self) -> list[dict[str, Any]]:
        """Every log record received, oldest first."""
        return self._read("logs.jsonl")

    def metrics(self) -> list[dict[str, Any]]:
        return self._read("metrics.jsonl")

    def _read(self, filename: str) -> list[dict[str, Any]]:
        path = self.directory / filename
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    def newest(self, filename: str, count: int = PAGE_ROWS) -> list[dict[str, Any]]:
        """The last `count` rows of a file, newest first, reading only its end."""
        path = self.directory / filename
        if not path.exists():
            return []
        with path.open("rb") as file:
            size = file.seek(0, 2)
            file.seek(max(0, size - _TAIL_BYTES))
            lines = file.read().decode("utf-8", errors="replace").splitlines()
        if size > _TAIL_BYTES:
            lines = lines[1:]  # the first line read may be cut
        return [json.loads(line) for line in reversed(lines[-count:])]

    def page(self) -> str:
        return telemetry_page(self.newest("spans.jsonl"), self.newest("logs.jsonl"))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server interface
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver.receive(self.path, body)
                # An empty Export*ServiceResponse: nothing rejected.
                self._answer(status, b"", "application/x-protobuf")

            def do_GET(self) -> None:  # noqa: N802
                if self.path != "/":
                    self._answer(404, b"Not found", "text/plain")
                    return
                self._answer(200, receiver.page().encode(), "text/html; charset=utf-8")

            def _answer(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler


def _table(headings: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return "<p>Nothing yet.</p>"
    head = "".join(f"<th>{h}</th>" for h in headings)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def telemetry_page(spans: list[dict[str, Any]], logs: list[dict[str, Any]]) -> str:
    """The newest spans and log records (each list newest first) as one HTML page."""
    span_rows = [
        [
            s["time"],
            s["service"],
            s["name"],
            f"{s['duration_ms']:.1f}",
            s["trace_id"],
            str(s["attributes"].get("fleetwise.request_id", "")),
            s["status"],
        ]
        for s in spans
    ]
    log_rows = [
        [
            r["time"],
            r["service"],
            r["severity"],
            str(r["body"]),
            r["trace_id"],
            str(r["attributes"].get("request_id", "")),
            str(r["attributes"].get("operation_id", "")),
        ]
        for r in logs
    ]
    return (
        "<!doctype html><meta charset=utf-8><title>Telemetry (demo)</title>"
        '<meta http-equiv="refresh" content="10">'
        "<style>table{border-collapse:collapse;font:13px monospace}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style>"
        "<h1>Telemetry (demo)</h1><p>What the portal's processes exported over OTLP, newest "
        f"first (the last {PAGE_ROWS} of each); refreshes every 10 s.</p>"
        "<h2>Spans</h2>"
        + _table(
            ["time (UTC)", "service", "span", "duration ms", "trace id", "request id", "status"],
            span_rows,
        )
        + "<h2>Log records</h2>"
        + _table(
            ["time (UTC)", "service", "severity", "message", "trace id", "request id", "operation"],
            log_rows,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4318)
    args = parser.parse_args()
    receiver = OtlpReceiver(args.dir, host=args.host, port=args.port)
    print(f"Demo telemetry: OTLP/HTTP at {receiver.endpoint}, spans and logs at "  # noqa: T201
          f"{receiver.endpoint}/ and in {args.dir}", flush=True)  # fmt: skip
    receiver.server.serve_forever()


if __name__ == "__main__":
    main()
