"""The tenant page and its live operations panel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from backups.models import RestoreSnapshot
from operations.models import Operation, OperationLock, OperationStep
from operations.services import operation_request
from portal.models import StaffProfile
from tests.factories import TenantFactory, restore_parameters
from tests.monitoring.factories import TenantHealthFactory

pytestmark = pytest.mark.django_db


def restore_requested(tenant, by, **overrides):
    """A parallel restore as the service records it (the worker is not running here)."""
    return operation_request(
        kind="restore_parallel",
        tenant=tenant,
        requested_by=by,
        reason=overrides.pop("reason", "customer asked"),
        ticket="SUP-1",
        parameters=restore_parameters(tenant, **overrides),
        enqueue=lambda pk, countdown: None,
    )


def mark_succeeded(operation):
    """As if the worker had finished it: the state, and the tenant's lock given back."""
    Operation.objects.filter(pk=operation.pk).update(state=Operation.State.SUCCEEDED)
    OperationLock.objects.filter(operation=operation).delete()


def test_it_shows_the_catalogue_by_name_and_says_when_no_window_was_collected(client, support):
    tenant = TenantFactory(slug="acme")
    client.force_login(support)
    response = client.get("/fleet/acme/")
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("app-fw-acme", "plan-fw-acme", "sql-fw-aue-01", "db-acme", "pool-01", "tde-acme"):
        assert f">{name}<" in page, name
    assert tenant.display_name in page
    assert "Not collected yet: the refresh pipeline has not read this tenant." in page
    assert "No operations yet." in page


def test_it_shows_one_restore_window_in_local_time_with_utc_and_the_deleted_databases(
    client, support
):
    tenant = TenantFactory(slug="acme")
    TenantHealthFactory(
        tenant=tenant,
        backup_earliest=datetime(2026, 1, 10, 3, 0, tzinfo=UTC),
        ltr_backups=[{"id": "x", "name": "ltr-1", "backup_time": "2026-01-04T13:00:00+00:00"}],
    )
    RestoreSnapshot.objects.create(
        tenant=tenant,
        earliest_restore_at=datetime(2026, 1, 10, 3, 0, tzinfo=UTC),
        dropped_databases=[
            {"id": "d", "name": "db-old", "deleted_at": "2026-01-02T00:00:00+00:00"}
        ],
        collected_at=timezone.now() - timedelta(minutes=5),
    )
    client.force_login(support)
    page = client.get("/fleet/acme/").content.decode()
    assert page.count("Earliest restore point") == 1
    assert "2026-01-10 14:00:00 AEDT (2026-01-10 03:00:00 UTC)" in page
    assert "2026-01-05 00:00:00 AEDT (2026-01-04 13:00:00 UTC)" in page
    assert 'id="dropped-databases">1 ' in page and "5\xa0minutes ago" in page
    assert page.count(">Security statement") == 1


def test_support_sees_the_restore_button_and_an_account_manager_does_not(
    client, support, account_manager
):
    TenantFactory(slug="acme")
    client.force_login(support)
    assert 'href="/fleet/acme/restore/">Restore…' in client.get("/fleet/acme/").content.decode()
    client.force_login(account_manager)
    response = client.get("/fleet/acme/")
    assert response.status_code == 200
    assert "Restore…" not in response.content.decode()


def test_operations_are_listed_latest_first_with_their_steps_and_polled_while_active(
    client, support
):
    tenant = TenantFactory(slug="acme")
    first = restore_requested(tenant, support, reason="first")
    mark_succeeded(first)
    second = restore_requested(tenant, support, reason="second")
    client.force_login(support)
    page = client.get("/fleet/acme/").content.decode()
    assert page.index(f"#{second.pk} Restore in parallel") < page.index(
        f"#{first.pk} Restore in parallel"
    )
    assert "Check the source and the restore window" in page
    assert 'hx-get="/fleet/acme/operations" hx-trigger="every 2s"' in page

    OperationStep.objects.filter(operation=second, position=1).update(
        state=OperationStep.State.RUNNING
    )
    fragment = client.get("/fleet/acme/operations").content.decode()
    assert "<html" not in fragment
    assert "Running" in fragment
    assert "hx-trigger" in fragment

    Operation.objects.filter(pk=second.pk).update(
        state=Operation.State.FAILED, outcome="Nothing changed."
    )
    fragment = client.get("/fleet/acme/operations").content.decode()
    assert "hx-trigger" not in fragment  # finished: polling stops
    assert "Nothing changed." in fragment


def test_a_tenant_hidden_from_an_account_manager_is_not_found(client, account_manager):
    TenantFactory(slug="acme")
    TenantFactory(slug="mine", account_manager=account_manager)
    StaffProfile.objects.create(user=account_manager, only_assigned_tenants=True)
    client.force_login(account_manager)
    assert client.get("/fleet/acme/").status_code == 404
    assert client.get("/fleet/acme/operations").status_code == 404
    assert client.get("/fleet/mine/").status_code == 200


def test_the_fleet_links_each_tenant_to_its_page(client, account_manager):
    TenantFactory(slug="acme")
    client.force_login(account_manager)
    assert 'href="/fleet/acme/">acme</a>' in client.get("/").content.decode()


def test_the_tenant_page_query_count_does_not_grow_with_operations(
    client, support, django_assert_max_num_queries
):
    tenant = TenantFactory(slug="acme")
    for n in range(10):
        operation = restore_requested(tenant, support, reason=f"#{n}")
        mark_succeeded(operation)
    client.force_login(support)
    # 9 for the catalogue, backups and operations; 7 for the monitoring sections (the tenant
    # again, health, pool, alerts, posture, status changes, the timeline's operations); 1 for
    # the key inventory; 1 for the disaster-recovery section's readiness row; 1 for its last
    # drill; 1 for its last repatriation.
    with django_assert_max_num_queries(20):
        assert client.get("/fleet/acme/").status_code == 200
