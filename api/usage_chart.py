"""The household page's 7-day hourly chart and usual-hours strip, drawn as plain SVG numbers (no script needed)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from ingest.usage import UsageSpan

DAYS = 7
WIDTH, HEIGHT = 840, 120
"""One pixel column per 1/120 of a day: 7 days × 24 hours × 5 px."""


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    height: float
    title: str
    width: float = 4
    """An hour's bar is 4 px; a day rolled up from hours (``Settings.usage_hourly_retention``) spans its 24 hours."""


@dataclass(frozen=True, slots=True)
class Series:
    kind: str
    bars: list[Bar]
    peak_m3: float
    total_m3: float
    usual_hours: list[float]
    """Average use in each local hour of the day over the week, scaled 0–1: the household's routine."""


@dataclass(frozen=True, slots=True)
class Chart:
    series: list[Series]
    days: list[tuple[float, str]]
    """x position and local date label of each midnight."""
    width: int = WIDTH
    height: int = HEIGHT


def hourly_chart(rows: Sequence[UsageSpan], end: datetime, zone: tzinfo) -> Chart:
    """Bars for the ``DAYS`` days up to ``end`` (an hour boundary), in the household's local time.

    A day rolled up from its hours is one bar as wide as the day, as high as its average hour (so it compares
    with the hours beside it); its title gives the day's total.  The usual hours are drawn from hours only."""
    start = end - timedelta(days=DAYS)
    step = WIDTH / (DAYS * 24)
    used: dict[str, dict[tuple[datetime, int], float]] = {"gas": defaultdict(float), "water": defaultdict(float)}
    for row in rows:
        if start - timedelta(hours=row.hours - 1) <= row.hour < end and row.kind in used:
            used[row.kind][(row.hour, row.hours)] += row.used_m3
    series = []
    for kind, by_span in used.items():
        peak = max((value / hours for (_, hours), value in by_span.items()), default=0.0)
        bars, by_local_hour = [], [0.0] * 24
        for (hour, hours), value in sorted(by_span.items()):
            local = hour.astimezone(zone)
            if hours == 1:
                by_local_hour[local.hour] += value / DAYS
            if value > 0:
                height = max(1.0, HEIGHT * value / hours / peak)
                x = max(0.0, (hour - start).total_seconds() / 3600 * step)
                right = min(WIDTH, (hour - start).total_seconds() / 3600 * step + hours * step - 1)
                if hours == 1:
                    title, width = f"{local:%m-%d %H}:00  {value:.3f} m³", 4.0
                else:
                    title = f"{local:%m-%d %H}:00–{(hour + timedelta(hours=hours)).astimezone(zone):%m-%d %H}:00  {value:.3f} m³"
                    width = round(max(1.0, right - x), 1)
                bars.append(Bar(round(x, 1), round(height, 1), title, width))
        top = max(by_local_hour) or 1.0
        series.append(Series(kind, bars, peak, sum(by_span.values()), [round(v / top, 2) for v in by_local_hour]))
    days = []
    midnight = start.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    while midnight < end:
        days.append((round((midnight - start).total_seconds() / 3600 * step, 1), f"{midnight:%m-%d}"))
        midnight = (midnight + timedelta(days=1, hours=2)).replace(hour=0)  # +2 h: safe across a DST change
    return Chart(series, days)
