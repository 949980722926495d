"""Backups, 24 h series and posture through the SDKs against the emulator, the command, and
the beat schedules."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from monitoring.models import PostureCheck, RefreshRun, TenantHealth
from monitoring.services import fleet_refresh
from tests.monitoring.conftest import compliant, seeded

pytestmark = pytest.mark.django_db


def test_backups_and_series_come_from_per_server_lists(azure_emulator, fleet, control):
    run = fleet_refresh(kind=RefreshRun.Kind.BACKUPS)

    assert run.errors == {}
    servers = len({t.sql_server_id for t in fleet})
    subscriptions = len({t.subscription_id for t in fleet})
    # Per subscription: plans, series, App Insights, Defender assessments, ...; plus the
    # cloud-wide recommendation metadata once.
    assert run.azure_calls <= 3 * servers + 5 * subscriptions + 3
    health = TenantHealth.objects.get(tenant__slug=compliant(azure_emulator)["slug"])
    assert health.ltr_backups and health.ltr_backups[0]["backup_time"]
    assert health.ltr_backups == sorted(
        health.ltr_backups, key=lambda b: b["backup_time"], reverse=True
    )
    assert health.geo_backup_latest is not None and health.backup_latest is not None
    assert len(health.db_series["cpu_percent"]) >= 23
    assert len(health.app_series["Requests"]) >= 23
    assert health.app_requests_24h == int(sum(v for _, v in health.app_series["Requests"]))
    assert health.plan_sku and health.plan_instances
    assert health.ai_availability_percent == 100.0 and health.ai_server_response_ms
    assert len(health.ai_series["requests/failed"]) >= 23
    failing = TenantHealth.objects.get(
        tenant__slug=seeded(azure_emulator, "unhealthy_site")["slug"]
    )
    # Failing for a while (the seed says since when): the hours since then show it.
    availability = [v for _, v in failing.ai_series["availabilityResults/availabilityPercentage"]]
    assert min(availability) < 100  # a healthy app reports exactly 100
    assert failing.ai_availability_percent is not None and failing.ai_availability_percent < 100
    assert health.db_workers_percent is not None


def test_posture_finds_each_seeded_violation_and_passes_a_compliant_tenant(
    azure_emulator, fleet, control
):
    fleet_refresh(kind=RefreshRun.Kind.POSTURE, tenants=fleet)

    def failures(slug: str) -> set[str]:
        return set(
            PostureCheck.objects.filter(tenant__slug=slug, passed=False).values_list(
                "check_name", flat=True
            )
        )

    assert failures(compliant(azure_emulator)["slug"]) == set()
    assert PostureCheck.objects.filter(tenant__slug=compliant(azure_emulator)["slug"]).count() == 11
    assert "backup_geo_redundant" in failures(seeded(azure_emulator, "backup_local")["slug"])
    assert "auditing" in failures(seeded(azure_emulator, "auditing_off")["slug"])
    assert "tde_customer_key" in failures(seeded(azure_emulator, "service_managed_tde")["slug"])
    bad = TenantHealth.objects.get(tenant__slug=seeded(azure_emulator, "auditing_off")["slug"])
    assert bad.posture_failures >= 1
    assert bad.app_min_tls == "1.2" and bad.pitr_days == 7 and bad.ai_connected is True


def test_a_defender_plan_switched_off_fails_every_tenant_of_its_subscription(
    azure_emulator, fleet, control
):
    from portal.azure.clients import azure_clients

    tenant = compliant(azure_emulator)
    client = azure_clients().security(tenant["subscription_id"])
    scope = f"subscriptions/{tenant['subscription_id']}"
    pricing = client.pricings.get(scope, "AppServices")
    pricing.pricing_tier = "Free"
    client.pricings.update(scope, "AppServices", pricing)
    try:
        fleet_refresh(kind=RefreshRun.Kind.POSTURE, tenants=fleet)
        check = PostureCheck.objects.get(tenant__slug=tenant["slug"], check_name="defender_plans")
        assert not check.passed
        assert check.actual == "SqlServers Standard, AppServices Free"
    finally:
        pricing.pricing_tier = "Standard"
        client.pricings.update(scope, "AppServices", pricing)


def test_posture_that_cannot_be_read_keeps_the_previous_checks_and_says_why(
    azure_emulator, fleet, control
):
    fleet_refresh(kind=RefreshRun.Kind.POSTURE, tenants=fleet)
    before = PostureCheck.objects.count()
    control("POST", "faults/fail-next", {"operation": "security.pricings.list", "count": 20,
                                         "status": 403, "code": "AuthorizationFailed", "message": "No."})  # fmt: skip

    run = fleet_refresh(kind=RefreshRun.Kind.POSTURE, tenants=fleet)

    assert "posture" in run.errors
    assert PostureCheck.objects.count() == before
    health = TenantHealth.objects.get(tenant=fleet[0])
    assert "Defender plans could not be read" in health.sources["posture"]["error"]


def test_refresh_fleet_refreshes_one_tenant_from_every_source(azure_emulator, fleet, control):
    out = StringIO()
    call_command("refresh_fleet", "--tenant", fleet[0].slug, stdout=out)

    assert "Refreshed 1 tenants" in out.getvalue()
    health = TenantHealth.objects.get(tenant=fleet[0])
    assert {"apps", "databases", "metrics", "alerts", "backups", "posture"} <= set(health.sources)
    assert TenantHealth.objects.count() == 1


def test_refresh_fleet_refuses_an_unknown_tenant(fleet):
    with pytest.raises(CommandError, match="No tenant 'nope'"):
        call_command("refresh_fleet", "--tenant", "nope")


def test_the_refresh_schedules_are_beat_rows_an_admin_can_edit(db):
    tasks = dict(
        PeriodicTask.objects.filter(task__startswith="monitoring.").values_list("task", "enabled")
    )
    assert tasks == {
        "monitoring.refresh_hot": True,
        "monitoring.refresh_backups": True,
        "monitoring.refresh_posture": True,
    }
    hot = PeriodicTask.objects.get(task="monitoring.refresh_hot")
    assert hot.interval is not None and hot.interval.every == 120


def test_beat_runs_each_refresh_at_its_first_start_so_a_new_demo_has_statuses_at_once(db):
    from django_celery_beat.schedulers import ModelEntry

    from portal.celery import app

    for task in PeriodicTask.objects.filter(task__startswith="monitoring."):
        assert ModelEntry(task, app=app).is_due().is_due, task.name
