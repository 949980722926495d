"""The inline SVG chart geometry (monitoring.charts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitoring.charts import line_chart, points_from

START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def hourly(*values):
    return [(START + timedelta(hours=i), v) for i, v in enumerate(values)]


def coords(line: str) -> list[tuple[float, float]]:
    pairs = [pair.split(",") for pair in line.split()]
    return [(float(x), float(y)) for x, y in pairs]


def test_the_line_spans_the_drawing_area_from_first_to_last_reading():
    chart = line_chart(hourly(10, 20, 30), title="CPU")

    (line,) = chart.lines
    xs = [x for x, _ in coords(line)]
    assert xs[0] == chart.left
    assert xs[-1] == chart.right
    assert xs == sorted(xs)


def test_higher_values_are_drawn_higher_and_percentages_are_scaled_to_100():
    chart = line_chart(hourly(0, 50, 100), title="CPU")

    ys = [y for _, y in coords(chart.lines[0])]
    assert ys[0] == chart.bottom
    assert ys[2] == chart.top
    assert abs(ys[1] - (chart.top + chart.bottom) / 2) < 0.1
    assert [g.label for g in chart.grid] == ["0", "50", "100"]


def test_a_missing_reading_breaks_the_line_instead_of_dropping_to_zero():
    chart = line_chart(hourly(10, 20, None, 40, 50), title="CPU")

    assert len(chart.lines) == 2
    assert len(chart.areas) == 2
    assert [len(coords(line)) for line in chart.lines] == [2, 2]
    assert all(y < chart.bottom for line in chart.lines for _, y in coords(line))


def test_counts_are_scaled_to_a_round_ceiling_above_the_peak():
    chart = line_chart(hourly(3, 140, 70), title="Requests", unit="", max_value=None)

    assert [g.label for g in chart.grid] == ["0", "100", "200"]
    assert chart.peak == 140
    assert chart.latest == 70


def test_a_value_above_a_fixed_maximum_raises_the_ceiling_instead_of_leaving_the_box():
    chart = line_chart(hourly(50, 130), title="Storage")

    assert all(chart.top <= y <= chart.bottom for _, y in coords(chart.lines[0]))
    assert chart.grid[-1].label == "200"


def test_the_threshold_line_sits_at_its_value():
    chart = line_chart(hourly(10, 20), title="CPU", threshold=90)

    assert chart.threshold_y is not None
    expected = chart.bottom - (chart.bottom - chart.top) * 0.9
    assert abs(chart.threshold_y - expected) < 0.01


def test_a_series_with_no_readings_is_empty_and_says_so():
    chart = line_chart(hourly(None, None), title="Sessions")

    assert chart.empty
    assert chart.summary == "Sessions: no readings"
    assert chart.threshold_y is None


def test_the_summary_names_the_latest_and_the_peak():
    chart = line_chart(hourly(12, 97.5, 41), title="Pool CPU")

    assert chart.summary == "Pool CPU: latest 41%, peak 98%"


def test_stored_json_series_are_read_in_time_order():
    points = points_from(
        [
            {"t": "2026-12-01T02:00:00+00:00", "v": 3},
            {"t": "2026-12-01T01:00:00+00:00", "v": None},
            {"at": "2026-12-01T00:00:00+00:00", "value": 1.5},
        ]
    )

    assert [p.value for p in points] == [1.5, None, 3.0]
    assert points[0].at == START


def test_a_sparkline_has_no_axes_and_uses_the_whole_box():
    chart = line_chart(hourly(10, 90), title="Trend", width=120, height=28, axes=False)

    assert chart.grid == ()
    xs = [x for x, _ in coords(chart.lines[0])]
    assert xs[0] < 2 and xs[-1] > 118
