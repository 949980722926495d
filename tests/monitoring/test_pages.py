"""The pools, alerts and posture pages, and the tenant page's monitoring sections."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from backups.forms import reading_value
from monitoring.models import HealthStatus
from operations.models import Operation
from portal.models import StaffProfile
from tests.factories import TenantFactory
from tests.monitoring.factories import (
    POOL_ID,
    DefenderAlertFactory,
    PoolSnapshotFactory,
    PostureCheckFactory,
    StatusChangeFactory,
    TenantHealthFactory,
)

pytestmark = pytest.mark.django_db


def limited(user):
    StaffProfile.objects.create(user=user, only_assigned_tenants=True)
    return user


# Pools


@pytest.fixture
def hot_pool(account_manager):
    for slug in ("acme", "globex", "initech", "umbrella"):
        TenantFactory(slug=slug, account_manager=account_manager if slug == "globex" else None)
    return PoolSnapshotFactory(
        cpu_percent=96.0,
        cpu_hot_since=timezone.now() - timedelta(minutes=40),
        capacity=200,
        max_size_bytes=100 * 1024**3,
        storage_used_bytes=60 * 1024**3,
        tenant_count=4,
        database_shares=[
            {"database": f"db-{s}", "tenant": s, "cpu_percent": c, "storage_bytes": 1024**3}
            for s, c in (("umbrella", 1.0), ("acme", 45.0), ("initech", 5.0), ("globex", 30.0))
        ],
    )


def test_the_pools_page_shows_use_headroom_and_the_biggest_consumers(client, support, hot_pool):
    client.force_login(support)

    body = client.get("/monitoring/pools/").content.decode()

    assert 'data-pool="pool-01"' in body and "hot-pool" in body
    assert "40.0\xa0GB free" in body
    assert "8 of 200 eDTU unused" in body
    neighbours = re.findall(r'<a href="/fleet/([^/]+)/">', body)
    assert neighbours == ["acme", "globex", "initech"]
    assert "Pool CPU, 24 h" in body  # the sparkline's accessible name


def test_a_limited_account_manager_sees_their_pool_without_other_tenants_names(
    client, account_manager, hot_pool
):
    client.force_login(limited(account_manager))

    body = client.get("/monitoring/pools/").content.decode()

    assert re.findall(r'<a href="/fleet/([^/]+)/">', body) == ["globex"]
    assert "acme" not in body and "initech" not in body
    assert "another tenant" in body


def test_a_pool_hosting_none_of_the_persons_tenants_is_not_listed(client, account_manager):
    PoolSnapshotFactory(pool_id=POOL_ID.replace("pool-01", "pool-09"), name="pool-09")
    TenantFactory(slug="acme")
    client.force_login(limited(account_manager))

    body = client.get("/monitoring/pools/").content.decode()

    assert "pool-09" not in body
    assert "No elastic pool has been read yet." in body


# Alerts


@pytest.fixture
def alerts():
    acme = TenantFactory(slug="acme")
    globex = TenantFactory(slug="globex")
    return {
        "high": DefenderAlertFactory(tenant=acme, display_name="SQL injection"),
        "low": DefenderAlertFactory(
            tenant=globex, severity="Low", display_name="Unusual login location"
        ),
        "closed": DefenderAlertFactory(
            tenant=acme, status="Dismissed", display_name="Old port scan"
        ),
    }


def alert_rows(body):
    return [int(pk) for pk in re.findall(r'data-alert="(\d+)"', body)]


def test_the_alerts_page_lists_open_alerts_most_severe_first(client, support, alerts):
    client.force_login(support)

    body = client.get("/monitoring/alerts/").content.decode()

    assert alert_rows(body) == [alerts["high"].pk, alerts["low"].pk]
    assert "Old port scan" not in body
    counts = re.search(r'id="open-alert-counts">(.*?)</p>', body, re.S).group(1)
    assert re.findall(r">(\d+ \w+)</a>", counts) == [
        "1 high",
        "0 medium",
        "1 low",
        "0 informational",
    ]
    assert body.count('name="action" value="dismiss"') == 2


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=", ["high", "low", "closed"]),
        ("status=Dismissed", ["closed"]),
        ("severity=Low", ["low"]),
        ("tenant=acme&status=", ["high", "closed"]),
    ],
)
def test_the_alerts_page_filters_by_severity_status_and_tenant(
    client, support, alerts, query, expected
):
    client.force_login(support)

    body = client.get(f"/monitoring/alerts/?{query}").content.decode()

    assert sorted(alert_rows(body)) == sorted(alerts[name].pk for name in expected)


def test_an_account_manager_reads_alerts_but_gets_no_buttons(client, account_manager, alerts):
    client.force_login(account_manager)

    body = client.get("/monitoring/alerts/").content.decode()

    assert alert_rows(body)
    assert 'value="dismiss"' not in body
    assert "support staff and admins dismiss or resolve them" in body


# Posture


def test_the_posture_page_lists_failures_with_expected_actual_and_when_read(client, support):
    acme = TenantFactory(slug="acme")
    PostureCheckFactory(tenant=acme)  # passes: not listed
    PostureCheckFactory(
        tenant=acme,
        check_name="backup_redundancy",
        title="Backup storage geo-redundant",
        expected="Geo",
        actual="Local",
        passed=False,
    )
    PostureCheckFactory(
        tenant=TenantFactory(slug="globex"),
        check_name="database_region",
        title="Database in Australia East",
        expected="australiaeast",
        actual="westeurope",
        passed=False,
    )
    client.force_login(support)

    body = client.get("/monitoring/posture/").content.decode()

    assert re.findall(r'data-check="([^"]+)"', body) == ["backup_redundancy", "database_region"]
    assert "<td>Geo</td>" in body and '<td class="failed">Local</td>' in body
    assert "2 failing checks across 2 tenants" in body
    assert "SQL server minimum TLS" not in body


def test_the_posture_page_says_when_nothing_has_been_read(client, support):
    TenantFactory(slug="acme")
    client.force_login(support)

    body = client.get("/monitoring/posture/").content.decode()

    assert "No posture check has been read yet" in body


def test_the_posture_page_says_when_everything_passes(client, support):
    PostureCheckFactory(tenant=TenantFactory(slug="acme"))
    client.force_login(support)

    assert "meets the security statement" in client.get("/monitoring/posture/").content.decode()


# The tenant page


@pytest.fixture
def down_tenant():
    tenant = TenantFactory(slug="acme")
    TenantHealthFactory(
        tenant=tenant,
        status=HealthStatus.DOWN,
        reasons=["The app is stopped."],
        app_state="Stopped",
        sources={
            "metrics": {"as_of": timezone.now().isoformat(), "error": "", "failed_at": None},
            "alerts": {
                "as_of": (timezone.now() - timedelta(hours=1)).isoformat(),
                "error": "Defender answered 503",
                "failed_at": timezone.now().isoformat(),
            },
        },
        ltr_backups=[
            {
                "name": "ltr-1",
                "backup_time": "2026-11-29T13:00:00+00:00",
                "expires": "2027-11-29T13:00:00+00:00",
            }
        ],
    )
    PoolSnapshotFactory(tenant_count=3)
    DefenderAlertFactory(tenant=tenant, display_name="SQL injection")
    PostureCheckFactory(tenant=tenant)
    PostureCheckFactory(
        tenant=tenant,
        check_name="app_https_only",
        title="App Service HTTPS only",
        expected="on",
        actual="off",
        passed=False,
    )
    StatusChangeFactory(
        tenant=tenant,
        at=timezone.now() - timedelta(hours=2),
        from_status=HealthStatus.HEALTHY,
        to_status=HealthStatus.DOWN,
        reasons=["The app is stopped."],
    )
    StatusChangeFactory(tenant=tenant, at=timezone.now() - timedelta(days=40), reasons=["long ago"])
    return tenant


def test_the_tenant_page_shows_health_charts_window_alerts_posture_and_timeline(
    client, support, down_tenant
):
    Operation.objects.create(
        tenant=down_tenant,
        kind="restore_parallel",
        state=Operation.State.SUCCEEDED,
        requested_by=support,
        reason="drill",
        parameters={},
    )
    client.force_login(support)

    body = client.get("/fleet/acme/").content.decode()

    assert 'id="tenant-status">Down<' in body
    assert "The app is stopped." in body
    assert "Defender alerts unavailable: Defender answered 503" in body
    # Database, pool and app charts, drawn inline.
    for title in ("Database CPU", "Pool CPU", "Requests per hour"):
        assert re.search(rf'<svg [^>]*aria-label="{title}: latest', body), title
    assert "<polyline" in body and "<script" not in body.split("<svg", 1)[1].split("</svg>")[0]
    assert 'id="pool-share">8.0 % of what pool-01\'s databases use' in body
    # LTR: local time shown, local and UTC on hover.
    assert (
        '<span title="2026-11-30 00:00:00 AEDT (2026-11-29 13:00:00 UTC)">2026-11-30 00:00 AEDT</span>'
        in body
    )
    assert "SQL injection" in body
    assert "App Service HTTPS only" in body and "(1 failing)" in body
    assert "Healthy → Down" in body and "Operation #" in body
    assert "long ago" not in body
    assert "https://portal.azure.com/#@" in body


def test_people_who_may_restore_get_restore_to_this_point_shortcuts(client, support, down_tenant):
    health = down_tenant.health
    client.force_login(support)

    body = client.get("/fleet/acme/").content.decode()

    assert f'name="reading" value="{reading_value(health.backup_latest)}"' in body
    assert "Restore to a minute before…" in body
    assert "Restore this backup…" in body


def test_the_shortcut_fills_the_restore_form_in(client, support, down_tenant):
    client.force_login(support)

    response = client.post(
        "/fleet/acme/restore/",
        {"reading": "2026-11-30T10:15", "source": "point_in_time", "mode": "parallel"},
    )

    assert response.status_code == 200
    assert 'value="2026-11-30T10:15"' in response.content.decode()


def test_an_account_manager_sees_the_window_but_no_restore_shortcut(
    client, account_manager, down_tenant
):
    client.force_login(account_manager)

    body = client.get("/fleet/acme/").content.decode()

    assert 'id="latest-restore-point"' in body
    assert 'name="reading"' not in body


def test_a_tenant_never_collected_says_so(client, support):
    TenantFactory(slug="acme")
    client.force_login(support)

    body = client.get("/fleet/acme/").content.decode()

    assert "Not collected yet: the refresh pipeline has not read this tenant." in body


def test_long_term_backups_show_the_newest_twelve_and_the_rest_behind_show_all(client, support):
    taken = [datetime(2026, 11, 29, 13, tzinfo=UTC) - timedelta(weeks=w) for w in range(20)]
    TenantHealthFactory(
        tenant=TenantFactory(slug="weekly"),
        ltr_backups=[
            {"name": f"ltr-{w:02d}", "backup_time": t.isoformat(), "expires": t.isoformat()}
            for w, t in enumerate(taken)
        ],
    )
    client.force_login(support)

    body = client.get("/fleet/weekly/").content.decode()

    shown, rest = body.split('<details id="ltr-older">', 1)
    shown = shown.split('id="ltr-backups"', 1)[1]
    assert re.findall(r"<td>(ltr-\d+)</td>", shown) == [f"ltr-{w:02d}" for w in range(12)]
    assert "<summary>Show all 20 long-term backups</summary>" in rest
    rest = rest.split("</details>", 1)[0]
    assert re.findall(r"<td>(ltr-\d+)</td>", rest) == [f"ltr-{w:02d}" for w in range(12, 20)]


def test_twelve_long_term_backups_or_fewer_need_no_show_all(client, support, down_tenant):
    client.force_login(support)

    body = client.get("/fleet/acme/").content.decode()

    assert "<td>ltr-1</td>" in body and 'id="ltr-older"' not in body
