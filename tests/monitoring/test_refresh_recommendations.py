"""Defender's unhealthy recommendations read by the hourly refresh through azure-mgmt-security
against the emulator, and shown on the tenant page."""

from __future__ import annotations

import pytest

from monitoring.models import RefreshRun, TenantHealth
from monitoring.services import fleet_refresh

pytestmark = pytest.mark.django_db


def _unhealthy_tenant(emulator):
    """The second seeded tenant: the emulator seeds every fifth from it with two Unhealthy."""
    return emulator.tenants[1]


def test_the_hourly_refresh_fills_each_tenants_unhealthy_recommendations(
    azure_emulator, fleet, control
):
    run = fleet_refresh(kind=RefreshRun.Kind.BACKUPS)

    assert "recommendations" not in run.errors
    target = _unhealthy_tenant(azure_emulator)
    health = TenantHealth.objects.get(tenant__slug=target["slug"])
    found = health.recommendations
    assert len(found) == 2 and health.open_recommendations == 2
    owned = {target["site_id"].lower(), target["database_id"].lower()}
    assert all(r["resource_id"].lower() in owned for r in found)
    assert all(r["name"] and r["severity"] in {"High", "Low"} and r["remediation"] for r in found)
    assert [r["severity"] for r in found] == sorted(
        (r["severity"] for r in found), key=("High", "Medium", "Low").index
    )
    clean = TenantHealth.objects.get(tenant__slug=azure_emulator.tenants[0]["slug"])
    assert clean.recommendations == [] and clean.open_recommendations == 0
    assert clean.sources["recommendations"]["error"] == ""


def test_a_failing_assessments_list_keeps_the_last_recommendations_and_says_why(
    azure_emulator, fleet, control
):
    fleet_refresh(kind=RefreshRun.Kind.BACKUPS)
    slug = _unhealthy_tenant(azure_emulator)["slug"]
    good = TenantHealth.objects.get(tenant__slug=slug)

    control(
        "POST",
        "faults/fail-next",
        {"operation": "security.assessments.list", "count": 50, "status": 400, "code": "Broken",
         "message": "The assessments list is broken."},
    )  # fmt: skip
    run = fleet_refresh(kind=RefreshRun.Kind.BACKUPS)

    health = TenantHealth.objects.get(tenant__slug=slug)
    assert "recommendations" in run.errors
    assert "The assessments list is broken." in health.sources["recommendations"]["error"]
    assert health.recommendations == good.recommendations and len(health.recommendations) == 2
    assert health.sources["backups"]["error"] == ""


def test_the_tenant_page_shows_the_recommendations_beside_the_alerts(
    azure_emulator, fleet, control, client, support
):
    fleet_refresh(kind=RefreshRun.Kind.BACKUPS)
    target = _unhealthy_tenant(azure_emulator)
    found = TenantHealth.objects.get(tenant__slug=target["slug"]).recommendations
    client.force_login(support)

    body = client.get(f"/fleet/{target['slug']}/").content.decode()
    clean = client.get(f"/fleet/{azure_emulator.tenants[0]['slug']}/").content.decode()

    section = body.split('id="tenant-recommendations"', 1)[1].split("</section>", 1)[0]
    assert body.index('id="tenant-alerts"') < body.index('id="tenant-recommendations"')
    for row in found:
        assert row["name"] in section and f"on {row['resource']}" in section
    assert "What to do" in section
    assert "No unhealthy recommendation." in clean
