"""Charts drawn on the server as SVG: no JavaScript, no chart library, readable without colour.

Every text that goes into the SVG is escaped here; :func:`lessonloop.web.render.markup` marks the
result safe for the templates. Colours come from the stylesheet (classes ``chart-*``), so the
Content-Security-Policy needs no inline style.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import escape

WIDTH = 640
HEIGHT = 220
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 14, 34


@dataclass(frozen=True)
class Point:
    label: str  # the x-axis label ("Mar", "2026")
    value: float | None  # None: nothing to measure (drawn as a gap)
    detail: str  # the tooltip and the data table: "2026-03: 25% (2 of 8 failures)"


@dataclass(frozen=True)
class MonthTotals:
    month: str  # YYYY-MM
    failures: int
    repeats: int
    actions_due: int
    actions_late: int  # drifted: overdue on some day up to today (signals.metrics.drifted)
    actions_overdue: int  # of those, still overdue today (actions.models.overdue_clause)

    @property
    def repeat_rate(self) -> float | None:
        return self.repeats / self.failures if self.failures else None

    @property
    def drift(self) -> float | None:
        return self.actions_late / self.actions_due if self.actions_due else None


def _month_keys(today: dt.date, months: int) -> list[str]:
    year, month = today.year, today.month
    keys = []
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(keys))


def monthly_totals(metrics: Mapping[str, Any], *, today: dt.date, months: int = 12) -> list[MonthTotals]:
    """The per-team month rows of :func:`lessonloop.signals.metrics.compute_metrics`, summed per
    month over the last ``months`` months (months without data are zeros).

    The counts are summed as the metrics give them, never rebuilt from a rounded share: the
    chart's late and overdue figures are the metrics' own (one definition, see
    :func:`lessonloop.signals.metrics.drifted`)."""
    fields = ("failures", "repeats", "actions_due", "actions_late", "actions_overdue")
    sums: dict[str, list[int]] = {key: [0] * len(fields) for key in _month_keys(today, months)}
    for row in metrics.get("months", []):
        bucket = sums.get(str(row.get("month")))
        if bucket is None:
            continue
        for i, name in enumerate(fields):
            bucket[i] += int(row.get(name) or 0)
    return [MonthTotals(month, *values) for month, values in sums.items()]


def _month_label(key: str, first: bool) -> str:
    year, month = int(key[:4]), int(key[5:7])
    name = dt.date(year, month, 1).strftime("%b")
    return f"{name} {year % 100:02d}" if first or month == 1 else name


def repeat_rate_points(totals: Sequence[MonthTotals]) -> list[Point]:
    return [
        Point(
            _month_label(t.month, i == 0),
            t.repeat_rate,
            f"{t.month}: {_percent(t.repeat_rate)} ({t.repeats} repeat{'s' if t.repeats != 1 else ''} "
            f"of {t.failures} failure{'s' if t.failures != 1 else ''})",
        )
        for i, t in enumerate(totals)
    ]


def drift_points(totals: Sequence[MonthTotals]) -> list[Point]:
    return [
        Point(
            _month_label(t.month, i == 0),
            t.drift,
            f"{t.month}: {_percent(t.drift)} ({t.actions_late} of {t.actions_due} due actions late, "
            f"{t.actions_overdue} still overdue)",
        )
        for i, t in enumerate(totals)
    ]


def _percent(value: float | None) -> str:
    return "no data" if value is None else f"{value * 100:.0f}%"


def _fmt_number(value: float) -> str:
    return f"{value:g}"


def line_chart(
    points: Sequence[Point],
    *,
    title: str,
    description: str,
    y_min: float = 0.0,
    y_max: float = 1.0,
    y_format: Callable[[float], str] = lambda v: f"{v * 100:.0f}%",
    threshold: float | None = None,
    threshold_label: str = "",
    css_class: str = "",
) -> str:
    """A line chart as an SVG string (a gap where a value is ``None``)."""
    if y_max <= y_min:
        y_max = y_min + 1.0
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    n = len(points)

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / n if n else 0)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - (v - y_min) / (y_max - y_min))

    uid = abs(hash((title, description))) % 10**8
    parts = [
        f'<svg class="chart {escape(css_class)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="c{uid}-t c{uid}-d" preserveAspectRatio="xMidYMid meet">',
        f'<title id="c{uid}-t">{escape(title)}</title>',
        f'<desc id="c{uid}-d">{escape(description)}</desc>',
    ]
    for k in range(5):
        value = y_min + (y_max - y_min) * k / 4
        gy = y(value)
        parts.append(
            f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}"/>'
        )
        parts.append(
            f'<text class="chart-axis" x="{LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end">'
            f"{escape(y_format(value))}</text>"
        )
    step = max(1, -(-n // 8))
    for i, point in enumerate(points):
        if i % step == 0 or i == n - 1:
            parts.append(
                f'<text class="chart-axis" x="{x(i):.1f}" y="{HEIGHT - 12}" text-anchor="middle">'
                f"{escape(point.label)}</text>"
            )
    if threshold is not None and y_min <= threshold <= y_max:
        ty = y(threshold)
        parts.append(
            f'<line class="chart-threshold" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}"/>'
        )
        if threshold_label:
            parts.append(
                f'<text class="chart-axis chart-threshold-label" x="{WIDTH - RIGHT}" y="{ty - 5:.1f}" '
                f'text-anchor="end">{escape(threshold_label)}</text>'
            )
    runs: list[list[tuple[float, float]]] = [[]]
    for i, point in enumerate(points):
        if point.value is None:
            runs.append([])
        else:
            runs[-1].append((x(i), y(max(y_min, min(y_max, point.value)))))
    for run in runs:
        if len(run) > 1:
            path = " ".join(f"{'M' if j == 0 else 'L'}{px:.1f},{py:.1f}" for j, (px, py) in enumerate(run))
            parts.append(f'<path class="chart-line" d="{path}"/>')
    for i, point in enumerate(points):
        if point.value is not None:
            cy = y(max(y_min, min(y_max, point.value)))
            parts.append(
                f'<circle class="chart-point" cx="{x(i):.1f}" cy="{cy:.1f}" r="4">'
                f"<title>{escape(point.detail)}</title></circle>"
            )
    if all(p.value is None for p in points):
        parts.append(
            f'<text class="chart-empty" x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}" '
            'text-anchor="middle">No data yet</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def observations_chart(
    values: Sequence[tuple[str, float]], *, comparator: str, threshold: float, metric: str
) -> str:
    """An experiment's observations over time against its success threshold."""
    numbers = [v for _, v in values] + [threshold]
    low, high = min(numbers), max(numbers)
    pad = (high - low) * 0.15 or abs(high) * 0.15 or 1.0
    y_min = 0.0 if low >= 0 and low - pad < 0 else low - pad
    points = [Point(label, value, f"{label}: {_fmt_number(value)}") for label, value in values]
    return line_chart(
        points,
        title=f"Observations of {metric}",
        description=f"{len(values)} observation(s); success when the latest is {comparator} "
        f"{_fmt_number(threshold)}",
        y_min=y_min,
        y_max=high + pad,
        y_format=lambda v: f"{v:.3g}",
        threshold=threshold,
        threshold_label=f"success {comparator} {_fmt_number(threshold)}",
        css_class="chart-observations",
    )
