"""A finished operation on one tenant has its sources read again, once, without ever failing
the finish (monitoring listens to operations' `operation_finished` signal)."""

from __future__ import annotations

import logging

import pytest
from django.db.models import Q

from monitoring import receivers
from monitoring.models import RefreshRun
from operations.engine import operation_finish
from operations.models import Operation
from tests.factories import TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def _operation(**fields) -> Operation:
    return Operation.objects.create(
        kind="restore_parallel",
        state=Operation.State.RUNNING,
        requested_by=UserFactory.create(),
        reason="test",
        **fields,
    )


def _finish(operation: Operation, state: str = Operation.State.SUCCEEDED) -> None:
    operation_finish(operation, state, only_if=Q())


def _runs(tenant) -> list[RefreshRun]:
    return list(RefreshRun.objects.filter(kind=RefreshRun.Kind.TENANT, tenant=tenant))


def test_a_finished_tenant_operation_files_one_refresh_of_that_tenant(
    django_capture_on_commit_callbacks, monkeypatch
):
    enqueued: list[int] = []
    monkeypatch.setattr("monitoring.tasks.enqueue_refresh_run", enqueued.append)
    tenant = TenantFactory()

    with django_capture_on_commit_callbacks(execute=True):
        _finish(_operation(tenant=tenant), Operation.State.FAILED)

    runs = _runs(tenant)
    assert len(runs) == 1 and runs[0].requested_by is None
    assert enqueued == [runs[0].pk]


def test_a_second_finish_while_the_first_refresh_is_pending_files_nothing(monkeypatch):
    monkeypatch.setattr("monitoring.tasks.enqueue_refresh_run", lambda pk: None)
    tenant = TenantFactory()

    _finish(_operation(tenant=tenant))
    _finish(_operation(tenant=tenant))

    assert len(_runs(tenant)) == 1


def test_children_of_a_fleet_operation_and_operations_without_a_tenant_file_nothing():
    tenant = TenantFactory()
    parent = _operation()

    _finish(_operation(tenant=tenant, parent=parent))
    _finish(parent)

    assert not RefreshRun.objects.exists()


def test_a_finished_pool_scale_refreshes_one_tenant_of_that_pool(monkeypatch):
    monkeypatch.setattr("monitoring.tasks.enqueue_refresh_run", lambda pk: None)
    pool_id = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/sql-1/elasticPools/pool-1"
    in_pool = [TenantFactory(slug=s, elastic_pool_id=pool_id) for s in ("b-tenant", "a-tenant")]
    elsewhere = TenantFactory(slug="c-tenant", elastic_pool_id=pool_id + "-other")

    _finish(_operation(subject_type=Operation.Subject.ELASTIC_POOL, subject_id=pool_id.upper()))

    assert [r.tenant for r in RefreshRun.objects.all()] == [in_pool[1]]
    assert not _runs(elsewhere)


def test_a_broker_outage_is_logged_and_the_operation_still_finishes(
    django_capture_on_commit_callbacks, monkeypatch, caplog
):
    def refuse(pk: int) -> None:
        raise ConnectionError("redis down")

    monkeypatch.setattr("monitoring.tasks.enqueue_refresh_run", refuse)
    operation = _operation(tenant=TenantFactory())

    with (
        caplog.at_level(logging.WARNING, logger=receivers.__name__),
        django_capture_on_commit_callbacks(execute=True),
    ):
        _finish(operation)

    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED
    assert "not enqueued" in caplog.text
