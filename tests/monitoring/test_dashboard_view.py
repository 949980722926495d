"""The fleet dashboard (the landing page) through the Django test client."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.models import HealthStatus
from portal.models import StaffProfile
from tests.factories import TenantFactory
from tests.monitoring.factories import TenantHealthFactory

pytestmark = pytest.mark.django_db


def rows(body: str) -> list[str]:
    return re.findall(r'data-tenant="([^"]+)"', body)


@pytest.fixture
def fleet():
    """A fleet with one tenant in each state and one never collected."""
    TenantHealthFactory(tenant=TenantFactory(slug="healthy-co"))
    TenantHealthFactory(
        tenant=TenantFactory(slug="down-co"),
        status=HealthStatus.DOWN,
        reasons=["The app is stopped."],
        app_state="Stopped",
        open_recommendations=3,
        sources={
            "posture": {"as_of": timezone.now().isoformat(), "error": ""},
            "recommendations": {"as_of": timezone.now().isoformat(), "error": ""},
        },
    )
    TenantHealthFactory(
        tenant=TenantFactory(slug="hot-co", region="australiasoutheast"),
        status=HealthStatus.DEGRADED,
        reasons=["Pool CPU above 90 % for 30 minutes."],
        pool_name="pool-hot",
        pool_use_percent=96.0,
        alerts_high=1,
        alerts_low=2,
        posture_failures=2,
    )
    TenantFactory(slug="new-co")


def test_everyone_with_a_role_lands_on_the_fleet_with_counts_by_status(client, support, fleet):
    client.force_login(support)

    response = client.get("/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "4 tenants" in body
    assert "1 healthy" in body and "1 degraded" in body and "1 down" in body
    assert "1 unknown" in body
    # Worst first by default; the never-collected tenant counts as unknown.
    assert rows(body) == ["down-co", "hot-co", "new-co", "healthy-co"]
    assert "The app is stopped." in body
    assert "Not collected yet" in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=down", ["down-co"]),
        ("status=unknown", ["new-co"]),
        ("alerts=on", ["hot-co"]),
        ("posture=on", ["hot-co"]),
        ("pool=pool-hot", ["hot-co"]),
        ("region=australiasoutheast", ["hot-co"]),
        ("q=HEALTHY", ["healthy-co"]),
        ("status=degraded&alerts=on&posture=on", ["hot-co"]),
        ("recommendations=on", ["down-co"]),
    ],
)
def test_each_filter_narrows_the_rows(client, support, fleet, query, expected):
    client.force_login(support)

    body = client.get(f"/?{query}").content.decode()

    assert rows(body) == expected


def test_it_filters_by_account_manager(client, support, account_manager, fleet):
    TenantFactory(slug="amys", account_manager=account_manager)
    client.force_login(support)

    body = client.get(f"/?manager={account_manager.pk}").content.decode()

    assert rows(body) == ["amys"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("tenant", ["down-co", "healthy-co", "hot-co", "new-co"]),
        ("pool", ["hot-co", "down-co", "healthy-co", "new-co"]),
        ("alerts", ["hot-co", "down-co", "healthy-co", "new-co"]),
        ("recommendations", ["down-co", "healthy-co", "hot-co", "new-co"]),
    ],
)
def test_it_sorts_by_the_chosen_column(client, support, fleet, sort, expected):
    client.force_login(support)

    body = client.get(f"/?sort={sort}").content.decode()

    assert rows(body) == expected


def test_a_filter_it_does_not_understand_is_reported_and_ignored(client, support, fleet):
    client.force_login(support)

    body = client.get("/?status=on-fire&pool=pool-hot").content.decode()

    assert "Some filters were not understood" in body
    assert rows(body) == ["hot-co"]


def test_a_limited_account_manager_sees_only_assigned_tenants(client, account_manager, fleet):
    StaffProfile.objects.create(user=account_manager, only_assigned_tenants=True)
    TenantHealthFactory(tenant=TenantFactory(slug="mine", account_manager=account_manager))
    client.force_login(account_manager)

    body = client.get("/").content.decode()

    assert rows(body) == ["mine"]
    assert "1 tenant" in body
    assert "down-co" not in body


def test_old_data_is_marked_stale_with_local_time_and_utc_on_hover(client, support):
    TenantHealthFactory(
        tenant=TenantFactory(slug="old-co"), as_of=timezone.now() - timedelta(hours=2)
    )
    client.force_login(support)

    body = client.get("/").content.decode()

    assert "stale-badge" in body
    assert re.search(r'<time class="as-of stale" datetime="[^"]+" title="[^"]+ UTC\)">', body)
    assert "2\xa0hours ago" in body


def test_the_table_is_paginated(client, support):
    for n in range(60):
        TenantHealthFactory(tenant=TenantFactory(slug=f"t{n:03d}"))
    client.force_login(support)

    first = client.get("/?sort=tenant").content.decode()
    second = client.get("/?sort=tenant&page=2").content.decode()

    assert len(rows(first)) == 50 and rows(first)[0] == "t000"
    assert rows(second) == [f"t{n:03d}" for n in range(50, 60)]
    assert "page 1 of 2" in first


def test_htmx_polls_get_the_table_alone(client, support, fleet):
    client.force_login(support)

    response = client.get("/?status=down", headers={"HX-Request": "true"})

    body = response.content.decode()
    assert body.lstrip().startswith('<div id="fleet-results"')
    assert rows(body) == ["down-co"]


def test_the_query_count_does_not_grow_with_the_fleet(
    client, admin_user, django_assert_max_num_queries
):
    for n in range(120):
        TenantHealthFactory(
            tenant=TenantFactory(slug=f"t{n:03d}", account_manager=admin_user),
            alerts_medium=n % 3,
        )
    client.force_login(admin_user)

    # 10: the header's approvals badge is one COUNT for an admin (tests/operations/test_approvals.py).
    with django_assert_max_num_queries(10) as captured:
        assert client.get("/?sort=alerts").status_code == 200
    small = len(captured.captured_queries)
    for n in range(120, 300):
        TenantHealthFactory(tenant=TenantFactory(slug=f"t{n:03d}"))
    with django_assert_max_num_queries(small) as captured:
        assert client.get("/?sort=alerts").status_code == 200


def _posture_cell(body: str, slug: str) -> str:
    row = body.split(f'data-tenant="{slug}"', 1)[1].split("</tr>", 1)[0]
    return re.findall(r"<td>(.*?)</td>", row)[-2]


def test_a_tenant_whose_posture_was_never_read_says_not_checked_not_ok(client, support, fleet):
    TenantHealthFactory(tenant=TenantFactory(slug="unread-co"), sources={})
    client.force_login(support)

    body = client.get("/").content.decode()

    assert "not checked" in _posture_cell(body, "unread-co")
    assert _posture_cell(body, "healthy-co") == "OK"
    assert "2 failing" in _posture_cell(body, "hot-co")
    assert rows(client.get("/?posture=on").content.decode()) == ["hot-co"]


def _recommendations_cell(body: str, slug: str) -> str:
    row = body.split(f'data-tenant="{slug}"', 1)[1].split("</tr>", 1)[0]
    return row.split('class="recommendations-cell">', 1)[1].split("</td>", 1)[0]


def test_open_recommendations_are_counted_and_a_tenant_never_read_says_so(client, support, fleet):
    client.force_login(support)

    body = client.get("/").content.decode()

    assert "3 open" in _recommendations_cell(body, "down-co")
    assert "not read" in _recommendations_cell(body, "healthy-co")
    assert "not read" in _recommendations_cell(body, "new-co")
