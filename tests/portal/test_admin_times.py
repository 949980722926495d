"""The admin's lists and detail pages show times in the portal's zone with UTC beside them, as
every other page does, and still sort by the stored time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from portal.audit import audit_record
from portal.times import local_and_utc
from tenants.models import Tenant
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

# 2026-12-01 18:54 UTC is 2026-12-02 05:54 in Sydney (daylight saving: AEDT, UTC+11).
MOMENT = datetime(2026, 12, 1, 18, 54, 7, tzinfo=UTC)
READS = "2026-12-02 05:54:07 AEDT (2026-12-01 18:54:07 UTC)"


@pytest.fixture(autouse=True)
def sydney(settings):
    settings.PORTAL_TIME_ZONE = "Australia/Sydney"


def test_the_audit_trail_lists_and_shows_each_events_time_in_the_portals_zone_with_utc(
    client, admin_user
):
    event = audit_record(action="test.happened", actor=admin_user)
    # The append-only triggers refuse updates, so the expected text follows the stored time.
    expected = local_and_utc(event.created_at)
    assert expected.endswith(" UTC)") and ("AEDT" in expected or "AEST" in expected)
    client.force_login(admin_user)

    listing = client.get("/portal/auditevent/").content.decode()
    detail = client.get(f"/portal/auditevent/{event.pk}/change/").content.decode()

    assert expected in listing
    assert expected in detail


def test_the_tenant_list_shows_when_each_tenant_last_changed_in_local_time_and_utc(
    client, admin_user
):
    tenant = TenantFactory(slug="acme")
    Tenant.objects.filter(pk=tenant.pk).update(created_at=MOMENT, updated_at=MOMENT)
    client.force_login(admin_user)

    listing = client.get("/tenants/tenant/").content.decode()
    detail = client.get(f"/tenants/tenant/{tenant.pk}/change/").content.decode()

    assert READS in listing
    assert detail.count(READS) == 2  # created and last changed


def test_periodic_tasks_list_their_start_and_last_run_in_local_time_and_utc(client, admin_user):
    every = IntervalSchedule.objects.create(every=2, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(
        name="test: local times",
        task="monitoring.refresh_hot",
        interval=every,
        start_time=MOMENT,
        last_run_at=MOMENT,
    )
    client.force_login(admin_user)

    listing = client.get("/django_celery_beat/periodictask/").content.decode()

    assert listing.count(READS) == 2
    assert "18:54:07 UTC)" in listing


def test_the_audit_time_column_sorts_by_the_stored_moment(client, admin_user):
    audit_record(action="test.first", actor=admin_user)
    audit_record(action="test.second", actor=admin_user)
    client.force_login(admin_user)

    def rows(order: str) -> str:
        page = client.get(f"/portal/auditevent/?o={order}").content.decode()
        start = page.index('<table id="result_list">')
        return page[start : page.index("</table>", start)]

    ascending, descending = rows("0"), rows("-0")  # the first column, up then down
    assert ascending.index("test.first") < ascending.index("test.second")
    assert descending.index("test.second") < descending.index("test.first")
