"""Telemetry in this process, with OpenTelemetry's in-memory exporter: a span (and duration
metrics) per request, a client span per Azure SDK call to the emulator, and log records that
name the request and the operation. The worker's side is tests/integration/test_telemetry_worker.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from opentelemetry.trace import SpanKind

from operations.engine import operation_execute
from operations.kinds import OperationKind, Step, registered
from operations.services import operation_request
from portal.azure import sql
from portal.log_context import LogContextFilter
from portal.management.commands.load_demo import catalogue_entry
from portal.roles import REQUEST_RESTORE
from tenants.services import tenant_import
from tests.factories import TenantFactory


class Kept(logging.Handler):
    """Keeps records, through the same filter the portal's handlers have."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(LogContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def kept() -> Iterator[Kept]:
    handler = Kept()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


@pytest.mark.django_db
def test_a_request_is_a_server_span_carrying_the_request_id_of_its_header(
    spans, telemetry_on, client, admin_user
):
    client.force_login(admin_user)
    response = client.get("/operations/", headers={"X-Request-Id": "ticket-4711-abcdef"})
    assert response.status_code == 200
    assert response["X-Request-ID"] == "ticket-4711-abcdef"
    [span] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert span.attributes is not None
    assert span.attributes["fleetwise.request_id"] == "ticket-4711-abcdef"
    assert span.attributes["http.route"] == "operations/"
    assert span.resource.attributes["service.name"] == "fleetwise-ops-test"
    _, reader = telemetry_on
    data = reader.get_metrics_data()
    assert data is not None
    names = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert names & {"http.server.duration", "http.server.request.duration"}


@pytest.mark.django_db
def test_a_request_without_an_id_gets_one_in_the_header_and_its_log_lines(
    spans, client, support, kept
):
    client.force_login(support)
    response = client.get("/keys/")  # admins only: Django logs the 403
    assert response.status_code == 403
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    [record] = [r for r in kept.records if r.name == "django.request"]
    assert (record.request_id, record.operation_id) == (request_id, "-")


@pytest.mark.integration
@pytest.mark.django_db
def test_an_sdk_call_to_the_emulator_is_a_client_span_under_the_current_one(spans, azure_emulator):
    entry = catalogue_entry(azure_emulator.tenants[0])
    tenant_import(entries=[entry], actor=None)
    from opentelemetry import trace

    with trace.get_tracer("test").start_as_current_span("page") as page:
        sql.database_get(entry["database_id"])
    finished = spans.get_finished_spans()
    # The SDK method's own span, and under it the HTTPS request it sent to the emulator.
    [method] = [s for s in finished if s.name == "DatabasesOperations.get"]
    [http] = [
        s
        for s in finished
        if s.kind == SpanKind.CLIENT and "/providers/Microsoft.Sql/" in str(s.attributes)
    ]
    assert method.parent is not None and method.parent.span_id == page.get_span_context().span_id
    assert http.parent is not None and http.parent.span_id == method.context.span_id
    attributes = http.attributes or {}
    assert attributes["http.request.method"] == "GET"
    assert attributes["http.response.status_code"] == 200
    assert f":{azure_emulator.port}/" in str(attributes["url.full"])


@pytest.mark.django_db
def test_log_lines_of_an_operations_run_carry_its_id_and_its_span_names_it(spans, support, kept):
    def step(context):
        logging.getLogger("operations.test").info("step ran")
        return "done"

    kind = OperationKind(
        name="test_logged",
        label="Logged",
        permission=REQUEST_RESTORE,
        needs_approval=lambda: False,
        plan=lambda operation: [Step("one", "One", step)],
    )
    from opentelemetry import trace

    with registered(kind):
        operation = operation_request(
            kind="test_logged",
            tenant=TenantFactory(slug="acme"),
            requested_by=support,
            reason="log test",
            parameters={},
            enqueue=lambda pk, countdown: None,
        )
        with trace.get_tracer("test").start_as_current_span("run/operations.run"):
            operation_execute(operation_id=operation.pk, enqueue=lambda pk, countdown: None)
    [record] = [r for r in kept.records if r.getMessage() == "step ran"]
    assert record.operation_id == str(operation.pk)
    [run] = [s for s in spans.get_finished_spans() if s.name == "run/operations.run"]
    assert (run.attributes or {})["fleetwise.operation_id"] == operation.pk
    # Outside the run, lines name no operation.
    logging.getLogger("operations.test").info("after")
    assert [r for r in kept.records if r.getMessage() == "after"][0].operation_id == "-"
