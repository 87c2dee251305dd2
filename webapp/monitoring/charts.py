"""Small server-rendered SVG charts. Each page shows a table that says the
same as the chart (the chart is an image with a title; the table is the text)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Sparkline:
    """A tiny mood line, oldest left; moods 1..5."""

    width: int
    height: int
    points: str
    last: tuple[int, int]
    moods: list[int]


def sparkline(moods_oldest_first: list[int], width: int = 64, height: int = 20) -> Sparkline:
    pad = 3
    step = (width - 2 * pad) / max(len(moods_oldest_first) - 1, 1)
    coords = [(round(pad + i * step), round(pad + (5 - m) * (height - 2 * pad) / 4))
              for i, m in enumerate(moods_oldest_first)]
    return Sparkline(width, height, " ".join(f"{x},{y}" for x, y in coords), coords[-1],
                     list(moods_oldest_first))


@dataclass
class Line:
    key: str
    points: str
    dots: list[tuple[int, int]]


@dataclass
class LineChart:
    """Lines of values 0..1 over equally spaced points, oldest left."""

    width: int
    height: int
    lines: list[Line]
    grid: list[int]  # y of 0, 0.5 and 1


def line_chart(series: dict[str, list[float]], width: int = 320, height: int = 140) -> LineChart:
    pad = 14
    n = max((len(v) for v in series.values()), default=0)
    step = (width - 2 * pad) / max(n - 1, 1)

    def y(value: float) -> int:
        return round(pad + (1 - value) * (height - 2 * pad))

    lines = []
    for key, values in series.items():
        dots = [(round(pad + i * step), y(v)) for i, v in enumerate(values)]
        lines.append(Line(key, " ".join(f"{a},{b}" for a, b in dots), dots))
    return LineChart(width, height, lines, [y(0), y(0.5), y(1)])


@dataclass
class Bar:
    label: str
    value: float
    x: int
    y: int
    w: int
    h: int


@dataclass
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    baseline: int


def bar_chart(items: list[tuple[str, float]], top: float | None = None, width: int = 320,
              height: int = 120) -> BarChart:
    """Vertical bars, first item left; `top` the value of a full bar."""
    pad = 6
    top = top or max((v for _l, v in items), default=0) or 1
    slot = (width - 2 * pad) / max(len(items), 1)
    bars = []
    for i, (label, value) in enumerate(items):
        h = round((height - 2 * pad) * min(value, top) / top)
        bars.append(Bar(label, value, round(pad + i * slot + slot * .15), height - pad - h,
                        max(round(slot * .7), 1), h))
    return BarChart(width, height, bars, height - pad)
