"""After start-up the slow sources (backups hourly, posture daily, at fixed minutes) are read by
a catch-up right after the hot refresh, so the tenant page is not left with dashes for an hour;
until then it says what has not been read yet."""

from __future__ import annotations

import re

import pytest

from monitoring import tasks
from monitoring.models import RefreshRun
from monitoring.services import (
    fleet_refresh,
    slow_sources_catch_up,
    slow_sources_catch_up_due,
    slow_sources_unread,
)
from monitoring.tenant_page import ltr_policy_text
from tests.monitoring.conftest import compliant, seeded

pytestmark = pytest.mark.django_db


def _cell(body: str, cell_id: str) -> str:
    return body.split(f'id="{cell_id}">', 1)[1].split("</td>", 1)[0]


def test_before_the_slow_sources_ran_the_page_says_not_read_yet_and_the_catch_up_fills_it(
    client, support, azure_emulator, fleet
):
    slug = compliant(azure_emulator)["slug"]
    fleet_refresh(kind=RefreshRun.Kind.HOT)
    client.force_login(support)

    body = client.get(f"/fleet/{slug}/").content.decode()
    for cell in ("app-configuration", "app-insights", "pitr-retention", "ltr-policy"):
        assert "not read yet" in _cell(body, cell), cell
    assert slow_sources_catch_up_due()

    runs = slow_sources_catch_up()

    assert {run.kind for run in runs} == {RefreshRun.Kind.BACKUPS, RefreshRun.Kind.POSTURE}
    assert all(run.tenants == len(fleet) and not run.errors for run in runs), [
        r.errors for r in runs
    ]
    body = client.get(f"/fleet/{slug}/").content.decode()
    assert _cell(body, "app-configuration") == "yes · 1.2 · yes"
    assert "connected" in _cell(body, "app-insights")
    assert _cell(body, "pitr-retention").endswith("· 7 days")
    assert "yearly P1Y" in _cell(body, "ltr-policy") or "weekly P52W" in _cell(body, "ltr-policy")
    assert "not read yet" not in body
    # Everything read: the next hot refreshes do not ask again.
    assert slow_sources_unread() == {}
    assert not slow_sources_catch_up_due()


def test_the_scheduled_hot_refresh_enqueues_the_catch_up_once(azure_emulator, fleet, monkeypatch):
    enqueued: list[str] = []
    monkeypatch.setattr(tasks.refresh_catch_up, "delay", lambda: enqueued.append("catch-up"))

    tasks.refresh_hot()
    assert enqueued == ["catch-up"]
    tasks.refresh_catch_up()  # what the worker then runs
    tasks.refresh_hot()

    assert enqueued == ["catch-up"]


def test_a_catch_up_asked_for_lately_is_not_asked_for_again(azure_emulator, fleet):
    fleet_refresh(kind=RefreshRun.Kind.HOT)
    RefreshRun.objects.create(kind=RefreshRun.Kind.BACKUPS, requested_at=fleet[0].created_at)

    assert slow_sources_unread()
    # `created_at` is moments ago: within the quiet period.
    assert not slow_sources_catch_up_due()


def test_the_ltr_policy_reads_in_words():
    assert ltr_policy_text({}) == ""
    assert ltr_policy_text({"weekly": "PT0S", "monthly": "PT0S", "yearly": "PT0S"}) == "none"
    assert (
        ltr_policy_text({"weekly": "P4W", "monthly": "PT0S", "yearly": "P1Y", "week_of_year": 1})
        == "weekly P4W · yearly P1Y"
    )


def test_the_first_scheduled_hot_refresh_leads_to_the_seeded_posture_violations_on_the_page(
    client, support, azure_emulator, fleet, monkeypatch
):
    """Demo acceptance: straight after start-up no tenant has been checked ("not checked" on the
    dashboard, nothing on the posture page); the first scheduled hot refresh asks for the
    catch-up, and once the worker has run it the posture page lists the seeded violations."""
    enqueued: list[str] = []
    monkeypatch.setattr(tasks.refresh_catch_up, "delay", lambda: enqueued.append("catch-up"))
    client.force_login(support)
    expected = {
        (seeded(azure_emulator, "backup_local")["slug"], "backup_geo_redundant"),
        (seeded(azure_emulator, "auditing_off")["slug"], "auditing"),
        (seeded(azure_emulator, "service_managed_tde")["slug"], "tde_customer_key"),
    }
    assert (
        "No posture check has been read yet" in client.get("/monitoring/posture/").content.decode()
    )

    tasks.refresh_hot()

    assert enqueued == ["catch-up"]
    dashboard = client.get("/?sort=tenant").content.decode()
    first = next(iter(expected))[0]
    row = dashboard.split(f'data-tenant="{first}"', 1)[1].split("</tr>", 1)[0]
    assert "not checked" in row
    tasks.refresh_catch_up()  # what the worker runs next
    page = client.get("/monitoring/posture/").content.decode()
    listed = set(re.findall(r'data-tenant="([^"]+)" data-check="([^"]+)"', page))
    assert expected <= listed
    assert compliant(azure_emulator)["slug"] not in {slug for slug, _ in listed}
