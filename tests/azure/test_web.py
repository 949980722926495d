"""portal.azure.web through azure-mgmt-web against the emulator."""

from __future__ import annotations

import pytest

from portal.azure import web
from portal.azure.errors import AzureNotFoundError, AzureTransientError

pytestmark = [pytest.mark.integration]


@pytest.fixture
def running_tenant(azure_emulator):
    """A tenant whose app runs; these tests leave it running."""
    tenant = next(
        t for t in reversed(azure_emulator.tenants) if "stopped_site" not in t["seeded_issues"]
    )
    yield tenant
    web.site_start(tenant["site_id"])


def test_it_reads_the_site_with_its_health_check_path(running_tenant):
    site = web.site_get(running_tenant["site_id"])

    assert isinstance(site, web.SiteInfo)
    assert site.id.lower() == running_tenant["site_id"].lower()
    assert site.name == running_tenant["site_name"]
    assert site.state == "Running" and site.is_running
    assert site.availability_state == "Normal"
    assert site.enabled
    assert site.host_names and site.default_host_name in site.host_names
    assert site.server_farm_id.lower() == running_tenant["plan_id"].lower()
    assert site.health_check_path == "/healthz"


def test_a_missing_site_is_not_found(azure_emulator, running_tenant):
    missing = running_tenant["site_id"] + "-nope"

    with pytest.raises(AzureNotFoundError):
        web.site_get(missing)
    with pytest.raises(AzureNotFoundError):
        web.site_stop(missing)


def test_stop_and_start_change_the_sites_state(running_tenant):
    site_id = running_tenant["site_id"]

    web.site_stop(site_id)
    stopped = web.site_get(site_id)
    web.site_stop(site_id)  # stopping a stopped app is a no-op, as in Azure
    web.site_start(site_id)
    started = web.site_get(site_id)

    assert stopped.state == "Stopped" and not stopped.is_running
    assert started.state == "Running"


def test_an_outage_of_app_service_is_transient(running_tenant, faults):
    faults(
        "fail-next",
        operation="web_apps.start",
        count=4,
        status=503,
        code="ServiceUnavailable",
        message="The service is unavailable",
        retry_after=0.1,
    )

    with pytest.raises(AzureTransientError) as caught:
        web.site_start(running_tenant["site_id"])

    assert caught.value.status == 503
    assert caught.value.code == "ServiceUnavailable"


def test_throttled_reads_are_transient(running_tenant, faults):
    faults("fail-next", operation="web_apps.get", count=4, status=429, retry_after=0.1)

    with pytest.raises(AzureTransientError) as caught:
        web.site_get(running_tenant["site_id"])

    assert caught.value.status == 429
