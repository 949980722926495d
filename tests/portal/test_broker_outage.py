"""With Redis down, a page that enqueues answers within seconds; workers still wait for Redis."""

from __future__ import annotations

import time

import pytest

from backups.models import RestoreSnapshot
from backups.services import restore_snapshot_request
from portal.celery import _workers_reconnect_patiently
from portal.celery import app as celery_app
from tenants.models import Tenant
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def test_a_page_that_enqueues_answers_within_seconds_when_redis_is_down(
    dead_broker, django_capture_on_commit_callbacks
):
    tenant: Tenant = TenantFactory()
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        restore_snapshot_request(tenant=tenant)
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"enqueueing with Redis down took {elapsed:.1f} s"
    # The request is on record, so the page keeps polling and a later refresh picks it up.
    assert RestoreSnapshot.objects.get(tenant=tenant).requested_at is not None


def test_a_worker_keeps_reconnecting_to_redis_instead_of_giving_up(settings):
    conf = celery_app.conf
    saved = (
        conf.broker_connection_retry,
        conf.broker_connection_max_retries,
        conf.result_backend_transport_options,
    )
    assert conf.broker_connection_retry is False  # the web side gives up quickly
    try:
        _workers_reconnect_patiently(conf=conf)
        assert conf.broker_connection_retry is True
        assert conf.broker_connection_max_retries is None
        assert conf.result_backend_transport_options == {}
    finally:
        (
            conf.broker_connection_retry,
            conf.broker_connection_max_retries,
            conf.result_backend_transport_options,
        ) = saved
