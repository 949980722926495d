"""The "Refresh now" buttons: the tenant's and the fleet's, rate-limited and audited."""

from __future__ import annotations

import pytest

from monitoring.models import RefreshRun
from portal.models import AuditEvent, StaffProfile
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch):
    """Run ids handed to Celery (no broker here: the worker's side is tested with the service)."""
    sent: list[int] = []
    monkeypatch.setattr("monitoring.views.enqueue_refresh_run", sent.append)
    return sent


def test_refresh_now_on_a_tenant_queues_a_run_and_says_so(
    client, account_manager, enqueued, django_capture_on_commit_callbacks
):
    TenantFactory(slug="acme")
    client.force_login(account_manager)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/monitoring/refresh/acme", follow=True)

    assert response.redirect_chain[-1][0] == "/fleet/acme/"
    assert "Refreshing acme" in response.content.decode()
    run = RefreshRun.objects.get()
    assert (run.kind, run.tenant.slug, run.requested_by) == ("tenant", "acme", account_manager)
    assert enqueued == [run.pk]
    assert AuditEvent.objects.filter(action="monitoring.refresh_requested", tenant="acme").exists()


def test_a_second_refresh_within_the_cooldown_is_refused_in_words(
    client, support, enqueued, django_capture_on_commit_callbacks
):
    TenantFactory(slug="acme")
    client.force_login(support)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/monitoring/refresh/acme")

    response = client.post("/monitoring/refresh/acme", follow=True)

    assert "refreshed moments ago" in response.content.decode()
    assert RefreshRun.objects.count() == 1
    assert len(enqueued) == 1


def test_refresh_now_for_the_fleet_queues_one_hot_run(
    client, admin_user, enqueued, django_capture_on_commit_callbacks
):
    TenantFactory(slug="acme")
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/monitoring/refresh", follow=True)

    assert response.redirect_chain[-1][0] == "/"
    assert "Refreshing the fleet" in response.content.decode()
    run = RefreshRun.objects.get()
    assert run.kind == "hot" and run.tenant is None
    assert enqueued == [run.pk]


def test_a_tenant_the_person_may_not_see_is_404_and_nothing_is_queued(
    client, account_manager, enqueued
):
    StaffProfile.objects.create(user=account_manager, only_assigned_tenants=True)
    TenantFactory(slug="acme")
    client.force_login(account_manager)

    assert client.post("/monitoring/refresh/acme").status_code == 404
    assert not RefreshRun.objects.exists()


def test_someone_without_a_role_is_refused_and_audited(client, outsider, enqueued):
    TenantFactory(slug="acme")
    client.force_login(outsider)

    assert client.post("/monitoring/refresh").status_code == 403
    assert client.post("/monitoring/refresh/acme").status_code == 403
    assert not RefreshRun.objects.exists()
    assert AuditEvent.objects.filter(action="access.denied").count() == 2
