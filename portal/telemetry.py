"""OpenTelemetry for the portal's processes (docs/telemetry.md): spans and metrics for web
requests, Celery tasks (the consumer's span a child of the enqueuing request's producer span) and
Azure SDK calls; logs with the request and operation ids.

Configured once per process, after any fork: the web in `portal/wsgi.py` (gunicorn loads the
app in each worker), Celery in `worker_process_init` and `beat_init` (`portal/celery.py`). Not
in AppConfig.ready(): that also runs in the prefork parent, whose exporter threads would not
survive the fork, and in every manage.py command.

Where it goes (PORTAL_TELEMETRY): `azure-monitor` (Application Insights, needs
APPLICATIONINSIGHTS_CONNECTION_STRING), `otlp` (OTEL_EXPORTER_OTLP_ENDPOINT, OTLP over HTTP),
`console` (stdout), `off`; `auto`, the default, picks the first of those that is configured,
and is off in tests.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.instrumentation.django import DjangoInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

from portal.azure.telemetry import azure_monitor_configure, azure_sdk_tracing
from portal.log_context import LogContextFilter

MODES = ("auto", "off", "console", "otlp", "azure-monitor")
log = logging.getLogger(__name__)


@dataclass
class _Configured:
    mode: str = ""


_configured = _Configured()
_context_filter = LogContextFilter()


def telemetry_mode() -> str:
    """The exporter PORTAL_TELEMETRY asks for, `auto` resolved."""
    mode: str = settings.PORTAL_TELEMETRY
    if mode != "auto":
        return mode
    if settings.APPLICATIONINSIGHTS_CONNECTION_STRING:
        return "azure-monitor"
    if settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        return "otlp"
    return "off"


def telemetry_configure(
    *,
    role: str,
    span_exporter: SpanExporter | None = None,
    metric_reader: MetricReader | None = None,
) -> str:
    """Set up telemetry for this process (`role`: web, worker, beat) once; returns the mode.
    Tests pass their own in-memory exporter and reader, which overrides the setting."""
    if _configured.mode:
        return _configured.mode
    mode = "test" if span_exporter is not None else telemetry_mode()
    _configured.mode = mode
    if mode == "off":
        return mode
    resource = Resource.create(
        {"service.name": f"fleetwise-ops-{role}", "service.namespace": "fleetwise"}
    )
    if mode == "azure-monitor":
        azure_monitor_configure(
            connection_string=settings.APPLICATIONINSIGHTS_CONNECTION_STRING, resource=resource
        )
    else:
        _providers_install(resource, *_exporters(mode, span_exporter, metric_reader))
    telemetry_instrument()
    # The distro's and our log handlers hang on the root logger: give each the ids.
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, LogContextFilter) for f in handler.filters):
            handler.addFilter(_context_filter)
    log.info("telemetry on (%s) for %s", mode, role)
    return mode


def _exporters(
    mode: str, span_exporter: SpanExporter | None, metric_reader: MetricReader | None
) -> tuple[SpanProcessor, MetricReader, Any]:
    """(span processor, metric reader, log exporter or None) for console, otlp and test."""
    if span_exporter is not None:
        # A test's in-memory exporter: spans exported as they end, no background thread.
        reader = metric_reader or InMemoryMetricReader()
        return SimpleSpanProcessor(span_exporter), reader, None
    if mode == "console":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        # Logs already go to the console through the LOGGING handler.
        return (
            BatchSpanProcessor(ConsoleSpanExporter()),
            PeriodicExportingMetricReader(ConsoleMetricExporter(), export_interval_millis=60_000),
            None,
        )
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    # The exporters read OTEL_EXPORTER_OTLP_ENDPOINT (and _HEADERS, …) themselves.
    return (
        BatchSpanProcessor(OTLPSpanExporter()),
        PeriodicExportingMetricReader(OTLPMetricExporter()),
        OTLPLogExporter(),
    )


def _providers_install(
    resource: Resource, processor: SpanProcessor, reader: MetricReader, log_exporter: Any
) -> None:
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(processor)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
    if log_exporter is not None:
        from opentelemetry._logs import set_logger_provider
        from opentelemetry.instrumentation.logging.handler import LoggingHandler
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

        logger_provider = LoggerProvider(resource=resource)
        logger_provider.add_log_record_processor(BatchLogRecordProcessor(log_exporter))
        set_logger_provider(logger_provider)
        logging.getLogger().addHandler(LoggingHandler(logger_provider=logger_provider))


def telemetry_instrument() -> None:
    """Django (a span and duration metrics per request; its middleware goes first, so it must run
    before the WSGI handler loads the middleware), Celery (publish and run spans, linked through
    the message headers) and the Azure SDKs. Instrumenting twice is a no-op."""
    DjangoInstrumentor().instrument()
    CeleryInstrumentor().instrument()  # type: ignore[no-untyped-call]
    azure_sdk_tracing(enabled=True)


def telemetry_uninstrument() -> None:
    """Undo telemetry_instrument (tests that turned telemetry on turn it off again)."""
    DjangoInstrumentor().uninstrument()
    CeleryInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
    azure_sdk_tracing(enabled=False)
    for handler in logging.getLogger().handlers:
        handler.removeFilter(_context_filter)
