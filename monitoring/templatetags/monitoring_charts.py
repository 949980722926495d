"""`{% line_chart series title=… %}` and `{% sparkline series %}`: inline SVG, no JavaScript."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from monitoring import charts

register = template.Library()


@register.inclusion_tag("monitoring/_chart.html")
def line_chart(
    series: Iterable[Any] | None,
    title: str,
    unit: str = "%",
    max_value: float | None = 100.0,
    threshold: float | None = None,
) -> dict[str, Any]:
    """A 24 h chart with axes; `max_value=None` scales to the data (counts, milliseconds)."""
    chart = charts.line_chart(
        series or (), title=title, unit=unit, max_value=max_value, threshold=threshold
    )
    return {"chart": chart, "sparkline": False}


@register.inclusion_tag("monitoring/_chart.html")
def sparkline(
    series: Iterable[Any] | None, title: str = "Trend", max_value: float | None = 100.0
) -> dict[str, Any]:
    """A small trend line for table cells."""
    chart = charts.line_chart(
        series or (), title=title, max_value=max_value, width=120, height=28, axes=False
    )
    return {"chart": chart, "sparkline": True}
