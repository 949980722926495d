""" "Refresh now": rate-limited, audited, enqueued after commit; the task runs the refresh."""

from __future__ import annotations

import pytest

from monitoring import tasks
from monitoring.models import RefreshRun, TenantHealth
from monitoring.services import (
    RefreshRefusedError,
    fleet_refresh_request,
    tenant_refresh_request,
)
from portal.models import AuditEvent
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def test_refresh_now_for_a_tenant_is_audited_and_enqueued_after_commit(
    support, django_capture_on_commit_callbacks
):
    tenant = TenantFactory()
    enqueued: list[int] = []
    with django_capture_on_commit_callbacks(execute=True):
        run = tenant_refresh_request(tenant=tenant, requested_by=support, enqueue=enqueued.append)
    assert enqueued == [run.pk]
    assert run.kind == RefreshRun.Kind.TENANT and run.requested_by == support
    event = AuditEvent.objects.get(action="monitoring.refresh_requested")
    assert event.tenant == tenant.slug and event.actor == support.username


def test_a_second_refresh_now_within_the_cooldown_is_refused_and_nothing_is_recorded(support):
    tenant = TenantFactory()
    tenant_refresh_request(tenant=tenant, requested_by=support, enqueue=lambda pk: None)
    with pytest.raises(RefreshRefusedError, match=f"{tenant.slug} was refreshed moments ago"):
        tenant_refresh_request(tenant=tenant, requested_by=support, enqueue=lambda pk: None)
    assert RefreshRun.objects.count() == 1
    assert AuditEvent.objects.filter(action="monitoring.refresh_requested").count() == 1
    other = TenantFactory()
    tenant_refresh_request(tenant=other, requested_by=support, enqueue=lambda pk: None)


def test_the_cooldown_passes(support, settings, time_machine):
    settings.MONITORING_FLEET_REFRESH_NOW_COOLDOWN_SECONDS = 60
    time_machine.move_to("2026-12-01T10:00:00Z")
    fleet_refresh_request(requested_by=support, enqueue=lambda pk: None)
    time_machine.move_to("2026-12-01T10:00:30Z")
    with pytest.raises(RefreshRefusedError, match="try again in 30 s"):
        fleet_refresh_request(requested_by=support, enqueue=lambda pk: None)
    time_machine.move_to("2026-12-01T10:01:01Z")
    fleet_refresh_request(requested_by=support, enqueue=lambda pk: None)
    assert RefreshRun.objects.filter(kind=RefreshRun.Kind.HOT).count() == 2


def test_the_task_runs_a_requested_refresh_once(azure_emulator, fleet, support):
    run = tenant_refresh_request(tenant=fleet[0], requested_by=support, enqueue=lambda pk: None)
    tasks.refresh_run(run.pk)
    run.refresh_from_db()
    assert run.started_at is not None and run.tenants == 1 and run.azure_calls > 0
    assert TenantHealth.objects.filter(tenant=fleet[0]).exists()
    tasks.refresh_run(run.pk)  # already run: returns quietly
    tasks.refresh_run(999_999)  # gone: returns quietly


def test_the_posture_slice_is_a_24th_of_the_fleet_plus_tenants_never_checked():
    from datetime import UTC, datetime

    from monitoring.posture_refresh import posture_slice

    tenants = [TenantFactory() for _ in range(48)]
    at_five = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    everyone = {t.pk for t in tenants}
    slice_ = posture_slice(tenants, at_five, checked=everyone)
    assert [t.pk % 24 for t in slice_] == [5, 5]
    never = tenants[0] if tenants[0].pk % 24 != 5 else tenants[1]
    assert never in posture_slice(tenants, at_five, checked=everyone - {never.pk})
