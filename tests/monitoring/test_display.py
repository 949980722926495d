"""How snapshot ages, times and charts read on the pages (monitoring template tags)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from django.template import Context, Template

NOW = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)


def render(source: str, **context) -> str:
    return Template("{% load monitoring_display monitoring_charts %}" + source).render(
        Context(context)
    )


@time_machine.travel(NOW, tick=False)
def test_a_fresh_snapshot_says_how_old_with_local_time_and_utc_on_hover(settings):
    settings.MONITORING_HOT_INTERVAL_SECONDS = 120
    html = render("{% as_of moment %}", moment=NOW - timedelta(minutes=3))

    assert ">as of 3\xa0minutes ago</time>" in html
    assert 'title="2026-12-02 08:57:00 AEDT (2026-12-01 21:57:00 UTC)"' in html
    assert "stale" not in html


@time_machine.travel(NOW, tick=False)
def test_older_than_two_refresh_intervals_is_marked_stale(settings):
    settings.MONITORING_HOT_INTERVAL_SECONDS = 120
    fresh = render("{% as_of moment %}", moment=NOW - timedelta(minutes=4))
    stale = render("{% as_of moment %}", moment=NOW - timedelta(minutes=4, seconds=1))

    assert "stale-badge" not in fresh
    assert 'class="as-of stale"' in stale and "stale-badge" in stale


@time_machine.travel(NOW, tick=False)
def test_under_a_minute_reads_just_now_and_nothing_reads_never_collected():
    assert ">as of just now<" in render("{% as_of moment %}", moment=NOW - timedelta(seconds=20))
    assert "never collected" in render("{% as_of None %}")


def test_the_chart_is_an_inline_svg_with_its_summary_and_local_times():
    points = [[(NOW + timedelta(hours=h)).isoformat(), 10.0 * h] for h in range(3)]

    html = render('{% line_chart points "Database CPU" %}', points=points)

    assert html.count("<svg") == 1 and "<script" not in html
    assert 'aria-label="Database CPU: latest 20%, peak 20%"' in html
    assert "<polyline" in html
    assert ">09:00</text>" in html and ">11:00</text>" in html  # Sydney, summer time


def test_an_empty_series_renders_no_chart_but_says_so():
    html = render('{% line_chart points "Sessions" %}', points=[])

    assert "<svg" not in html
    assert "Sessions: no readings" in html


def test_the_azure_portal_link_names_the_directory_and_the_resource(settings):
    settings.ENTRA_TENANT_ID = "contoso.onmicrosoft.com"

    html = render("{{ rid|azure_portal_url }}", rid="/subscriptions/s/resourceGroups/g")

    assert (
        html
        == "https://portal.azure.com/#@contoso.onmicrosoft.com/resource/subscriptions/s/resourceGroups/g"
    )
