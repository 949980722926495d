"""Telemetry for tests: OpenTelemetry's providers are process-wide and can be installed once, so
the session installs them (with in-memory exporters) the first time a test asks, and each test
module that wants spans turns the instrumentation on for itself and off again afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from portal import telemetry

Exporters = tuple[InMemorySpanExporter, InMemoryMetricReader]


@pytest.fixture(scope="session")
def telemetry_providers() -> Iterator[Exporters]:
    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    telemetry._configured.mode = ""  # tests run with PORTAL_TELEMETRY=off
    assert telemetry.telemetry_configure(role="test", span_exporter=exporter, metric_reader=reader)
    telemetry.telemetry_uninstrument()
    yield exporter, reader


@pytest.fixture(scope="module")
def telemetry_on(telemetry_providers: Exporters) -> Iterator[Exporters]:
    telemetry.telemetry_instrument()
    yield telemetry_providers
    telemetry.telemetry_uninstrument()


@pytest.fixture
def spans(telemetry_on: Exporters) -> InMemorySpanExporter:
    exporter, _ = telemetry_on
    exporter.clear()
    return exporter
