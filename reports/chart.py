"""The report's bar chart, laid out in Python so the template only places SVG shapes (no JavaScript, no library)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from .selectors import DailySeries


@dataclass(frozen=True)
class ChartBar:
    x: float
    width: float
    abandoned_y: float
    abandoned_height: float
    recovered_y: float
    recovered_height: float
    day: date
    abandoned: int
    recovered: int


@dataclass(frozen=True)
class ChartTick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    """An SVG bar chart, laid out here so the template only places shapes (no JavaScript, no library)."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    bars: list[ChartBar]
    y_ticks: list[ChartTick]
    x_ticks: list[ChartTick]

    @property
    def bottom(self) -> int:
        return self.top + self.plot_height


def _nice_ceiling(value: int, *, ticks: int = 4) -> tuple[int, int]:
    """An axis maximum ≥ ``value`` and a step of 1, 2 or 5 times 10^k giving at most ``ticks`` intervals."""
    if value <= 0:
        return 1, 1
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if step * ticks >= value:
                return step * math.ceil(value / step), step
        magnitude *= 10


def build_chart(series: DailySeries, *, width: int = 960, height: int = 240) -> Chart:
    """Bars per day: the full bar is the carts abandoned that day, the darker part those recovered. The y axis
    is scaled to the busiest day (so 3 carts and 3,000 carts a day both fill the chart); x labels thin out to ~10."""
    left, right, top, bottom = 56, 8, 10, 26
    plot_width, plot_height = width - left - right, height - top - bottom
    axis_max, step = _nice_ceiling(series.max_abandoned)
    count = max(len(series.days), 1)
    band = plot_width / count
    gap = band * 0.2 if band >= 4 else 0
    bars = []
    for index, day in enumerate(series.days):
        abandoned_height = plot_height * day.abandoned / axis_max
        recovered_height = plot_height * day.recovered / axis_max
        bars.append(
            ChartBar(
                x=round(left + index * band + gap / 2, 2),
                width=round(max(band - gap, 0.5), 2),
                abandoned_y=round(top + plot_height - abandoned_height, 2),
                abandoned_height=round(abandoned_height, 2),
                recovered_y=round(top + plot_height - recovered_height, 2),
                recovered_height=round(recovered_height, 2),
                day=day.day,
                abandoned=day.abandoned,
                recovered=day.recovered,
            )
        )
    y_ticks = [
        ChartTick(position=round(top + plot_height - plot_height * value / axis_max, 2), label=f"{value:,}")
        for value in range(0, axis_max + 1, step)
    ]
    every = max(1, math.ceil(len(series.days) / 10))
    x_ticks = [
        ChartTick(position=round(left + (index + 0.5) * band, 2), label=day.day.strftime("%b %-d"))
        for index, day in enumerate(series.days)
        if index % every == 0
    ]
    return Chart(
        width=width,
        height=height,
        left=left,
        top=top,
        plot_width=plot_width,
        plot_height=plot_height,
        bars=bars,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
    )


@dataclass(frozen=True)
class RevenueBar:
    x: float
    width: float
    y: float
    height: float
    day: date
    label: str


@dataclass(frozen=True)
class RevenueChart:
    """Recovered revenue per day, as bars (the second chart of the page)."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    bars: list[RevenueBar]
    y_ticks: list[ChartTick]
    x_ticks: list[ChartTick]

    @property
    def bottom(self) -> int:
        return self.top + self.plot_height


def build_revenue_chart(series: DailySeries, *, money, width: int = 960, height: int = 200) -> RevenueChart:
    """Bars of what the recovered carts abandoned each day paid, on an axis of whole currency units."""
    left, right, top, bottom = 72, 8, 10, 26
    plot_width, plot_height = width - left - right, height - top - bottom
    axis_max, step = _nice_ceiling(math.ceil(series.max_revenue))
    count = max(len(series.days), 1)
    band = plot_width / count
    gap = band * 0.2 if band >= 4 else 0
    bars = []
    for index, day in enumerate(series.days):
        bar_height = plot_height * float(day.recovered_revenue) / axis_max
        bars.append(
            RevenueBar(
                x=round(left + index * band + gap / 2, 2),
                width=round(max(band - gap, 0.5), 2),
                y=round(top + plot_height - bar_height, 2),
                height=round(bar_height, 2),
                day=day.day,
                label=money(day.recovered_revenue),
            )
        )
    y_ticks = [
        ChartTick(position=round(top + plot_height - plot_height * value / axis_max, 2), label=f"{value:,}")
        for value in range(0, axis_max + 1, step)
    ]
    every = max(1, math.ceil(len(series.days) / 10))
    x_ticks = [
        ChartTick(position=round(left + (index + 0.5) * band, 2), label=day.day.strftime("%b %-d"))
        for index, day in enumerate(series.days)
        if index % every == 0
    ]
    return RevenueChart(width, height, left, top, plot_width, plot_height, bars, y_ticks, x_ticks)
