"""Inline SVG charts for 24 h series: geometry computed here, drawn by `_chart.html`.

No JavaScript charting library: a series of at most a few dozen hourly points is a polyline. A
missing reading (None) breaks the line instead of being drawn as zero, so a collection gap never
looks like an idle database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Padding inside the view box, in view-box units, leaving room for the axis labels.
LEFT = 34.0
RIGHT = 6.0
TOP = 8.0
BOTTOM = 16.0


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float | None


@dataclass(frozen=True)
class GridLine:
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    """What the template draws; coordinates are in view-box units (the SVG scales to its box)."""

    width: int
    height: int
    title: str
    # One "x,y x,y …" string per unbroken run of readings.
    lines: tuple[str, ...]
    # A closed path under each run, for the shaded area.
    areas: tuple[str, ...]
    grid: tuple[GridLine, ...]
    threshold_y: float | None
    start: datetime | None
    end: datetime | None
    latest: float | None
    peak: float | None
    unit: str
    # Drawing area, for the axes.
    left: float
    right: float
    top: float
    bottom: float

    @property
    def empty(self) -> bool:
        return not self.lines

    @property
    def summary(self) -> str:
        """The chart in words (the SVG's accessible name)."""
        if self.empty:
            return f"{self.title}: no readings"
        return f"{self.title}: latest {_fmt(self.latest)}{self.unit}, peak {_fmt(self.peak)}{self.unit}"


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"


def _moment(value: Any) -> datetime:
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment


def points_from(series: Iterable[Any]) -> list[Point]:
    """Readings from a stored series: `(time, value)` pairs or `{"t"|"at"|"time": …,
    "v"|"value": …}` mappings; times may be ISO strings (JSON snapshots)."""
    points = []
    for item in series:
        if isinstance(item, Mapping):
            at = item.get("t", item.get("at", item.get("time")))
            value = item.get("v", item.get("value"))
        else:
            at, value = item
        points.append(Point(_moment(at), None if value is None else float(value)))
    return sorted(points, key=lambda p: p.at)


def _ceiling(peak: float, fixed: float | None) -> float:
    """The top of the y axis: the fixed maximum (100 for percentages), else a round number."""
    if fixed is not None:
        return fixed
    if peak <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if peak <= step:
            return float(step)
    magnitude = 10 ** (len(str(int(peak))) - 1)
    return float((int(peak // magnitude) + 1) * magnitude)


def _runs(points: Sequence[Point]) -> list[list[Point]]:
    runs: list[list[Point]] = [[]]
    for point in points:
        if point.value is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def line_chart(
    series: Iterable[Any],
    *,
    title: str,
    unit: str = "%",
    max_value: float | None = 100.0,
    threshold: float | None = None,
    width: int = 320,
    height: int = 96,
    axes: bool = True,
) -> Chart:
    """The geometry of a line chart of `series`; `axes=False` gives a sparkline."""
    points = points_from(series)
    values = [p.value for p in points if p.value is not None]
    left, right, top, bottom = (
        (LEFT, width - RIGHT, TOP, height - BOTTOM)
        if axes
        else (1.0, width - 1.0, 2.0, height - 2.0)
    )
    top_value = _ceiling(max(values, default=0.0), max_value)
    if values and max(values) > top_value:
        top_value = _ceiling(max(values), None)
    start = points[0].at if points else None
    end = points[-1].at if points else None
    span = (end - start).total_seconds() if start and end else 0.0

    def x(at: datetime) -> float:
        if not span or start is None:
            return (left + right) / 2
        return left + (right - left) * (at - start).total_seconds() / span

    def y(value: float) -> float:
        clamped = min(max(value, 0.0), top_value)
        return bottom - (bottom - top) * clamped / top_value

    lines, areas = [], []
    for run in _runs(points):
        coords = [(x(p.at), y(p.value)) for p in run if p.value is not None]
        lines.append(" ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords))
        first, last = coords[0][0], coords[-1][0]
        body = " ".join(f"L{cx:.1f},{cy:.1f}" for cx, cy in coords)
        areas.append(f"M{first:.1f},{bottom:.1f} {body} L{last:.1f},{bottom:.1f} Z")
    grid = (
        tuple(GridLine(y(top_value * f), _fmt(top_value * f)) for f in (0.0, 0.5, 1.0))
        if axes
        else ()
    )
    return Chart(
        width=width,
        height=height,
        title=title,
        lines=tuple(lines),
        areas=tuple(areas),
        grid=grid,
        threshold_y=y(threshold) if threshold is not None and values else None,
        start=start,
        end=end,
        latest=next((p.value for p in reversed(points) if p.value is not None), None),
        peak=max(values, default=None),
        unit=unit,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
    )
