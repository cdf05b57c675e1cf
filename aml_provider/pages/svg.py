"""Small inline SVG charts (line, histogram, scatter, horizontal bars, heat map); every label is escaped.

Each data mark carries a class (`point`, `bar`, `cell`) and its value in `data-*` attributes, so a page's
script and its tests can find them; a chart's plot area is in `data-plot` ("left top right bottom") and its
ranges in `data-x-range` / `data-y-range`, so a script can place markers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

WIDTH, HEIGHT = 560, 300
TOP, RIGHT, BOTTOM, LEFT = 30, 16, 46, 60
LEGEND_ROW = 16
PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d")


@dataclass(frozen=True)
class Series:
    """A named line (or set of points) of a chart."""

    name: str
    xs: Sequence[float]
    ys: Sequence[float]
    color: str = PALETTE[0]
    dashed: bool = False
    markers: bool = False


@dataclass(frozen=True)
class Scale:
    """Maps a data range onto a pixel range."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        if self.hi <= self.lo:
            return (self.start + self.end) / 2
        return self.start + (value - self.lo) / (self.hi - self.lo) * (self.end - self.start)


def number(value: float | None, digits: int = 4) -> str:
    """A short, readable number: 0.8538, 12.5, 1,234, 1.23e-05; an em dash when there is none."""
    if value is None or not math.isfinite(value):
        return "—"
    if value != 0 and (abs(value) >= 10**9 or abs(value) < 10**-3):
        return f"{value:.{digits - 1}e}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int((hi - first) / step + 1e-9) + 1)]


def padded(values: Sequence[float], include_zero: bool = False) -> tuple[float, float]:
    """A range holding every finite value with a little room; (0, 1) when there are none."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if include_zero:
        finite.append(0.0)
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    if hi == lo:
        return lo - 1, hi + 1
    room = (hi - lo) * 0.05
    return (lo if include_zero and lo == 0 else lo - room), hi + room


@dataclass
class Chart:
    """An x/y chart being drawn: axes first, then marks, then `svg()`."""

    title: str
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    x_label: str = ""
    y_label: str = ""
    width: int = WIDTH
    height: int = HEIGHT
    element_id: str = ""
    parts: list[str] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.x = Scale(*self.x_range, LEFT, self.width - RIGHT)
        self.y = Scale(*self.y_range, self.height - BOTTOM, TOP)
        self._axes()

    def _axes(self) -> None:
        left, right, top, bottom = LEFT, self.width - RIGHT, TOP, self.height - BOTTOM
        for value in ticks(*self.y_range):
            y = self.y(value)
            self.parts.append(
                f'<line class="grid" x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}"/>'
                f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{number(value, 3)}</text>'
            )
        for value in ticks(*self.x_range, count=6):
            x = self.x(value)
            self.parts.append(
                f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}"/>'
                f'<text class="tick" x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{number(value, 3)}</text>'
            )
        self.parts.append(
            f'<line class="axis" x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}"/>'
            f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{bottom}"/>'
            f'<text class="label" x="{(left + right) / 2:.1f}" y="{self.height - 8}" '
            f'text-anchor="middle">{escape(self.x_label)}</text>'
            f'<text class="label" transform="translate(14 {(top + bottom) / 2:.1f}) rotate(-90)" '
            f'text-anchor="middle">{escape(self.y_label)}</text>'
        )

    def line(self, series: Series) -> None:
        points = [(x, y) for x, y in zip(series.xs, series.ys, strict=True) if _finite(x, y)]
        path = " ".join(f"{self.x(x):.1f},{self.y(y):.1f}" for x, y in points)
        dash = ' stroke-dasharray="5 4"' if series.dashed else ""
        self.parts.append(
            f'<polyline class="series" data-name="{escape(series.name)}" fill="none" stroke="{series.color}" '
            f'stroke-width="2"{dash} points="{path}"/>'
        )
        if series.markers:
            self.points(series, radius=3)
        self.legend.append((series.name, series.color))

    def points(self, series: Series, radius: float = 2.5) -> None:
        marks = "".join(
            f'<circle class="point" cx="{self.x(x):.1f}" cy="{self.y(y):.1f}" r="{radius}" '
            f'data-x="{x:.6g}" data-y="{y:.6g}"/>'
            for x, y in zip(series.xs, series.ys, strict=True)
            if _finite(x, y)
        )
        self.parts.append(f'<g fill="{series.color}" fill-opacity="0.7">{marks}</g>')

    def bars(self, edges: Sequence[float], groups: Sequence[tuple[str, Sequence[float], str]]) -> None:
        """Side-by-side bars per bin: `groups` are (name, counts per bin, color)."""
        width = len(groups)
        for index, (name, counts, color) in enumerate(groups):
            marks = []
            for low, high, count in zip(edges[:-1], edges[1:], counts, strict=True):
                x0, x1 = self.x(low), self.x(high)
                span = (x1 - x0) / width
                top = self.y(count)
                marks.append(
                    f'<rect class="bar" x="{x0 + index * span + 0.5:.1f}" y="{top:.1f}" '
                    f'width="{max(span - 1, 0.5):.1f}" height="{max(self.y(0) - top, 0):.1f}" '
                    f'data-value="{count:g}" data-low="{low:.6g}" data-high="{high:.6g}">'
                    f"<title>{escape(name)} {number(low)}–{number(high)}: {count:g}</title></rect>"
                )
            self.parts.append(f'<g fill="{color}" data-name="{escape(name)}">{"".join(marks)}</g>')
            if width > 1:
                self.legend.append((name, color))

    def intervals(self, name: str, xs: Sequence[float], lows: Sequence[float | None],
                  highs: Sequence[float | None], color: str = PALETTE[0]) -> None:  # fmt: skip
        """Vertical whiskers from low to high at each x (confidence intervals); missing bounds are skipped."""
        marks = "".join(
            f'<line class="interval" x1="{self.x(x):.1f}" x2="{self.x(x):.1f}" y1="{self.y(low):.1f}" '
            f'y2="{self.y(high):.1f}" data-low="{low:.6g}" data-high="{high:.6g}"/>'
            for x, low, high in _bounded(xs, lows, highs)
        )
        self.parts.append(
            f'<g stroke="{color}" stroke-width="6" stroke-opacity="0.3" data-name="{escape(name)}">{marks}</g>'
        )

    def vertical(self, x: float, element_id: str, label: str = "") -> None:
        """A vertical marker line (e.g. the score threshold) a script can move."""
        px = self.x(x)
        self.parts.append(
            f'<g id="{escape(element_id)}" class="marker"><line x1="{px:.1f}" x2="{px:.1f}" y1="{TOP}" '
            f'y2="{self.height - BOTTOM}"/><text x="{px + 4:.1f}" y="{TOP + 10}">{escape(label)}</text></g>'
        )

    def dot(self, x: float, y: float, element_id: str) -> None:
        self.parts.append(
            f'<circle id="{escape(element_id)}" class="marker-dot" cx="{self.x(x):.1f}" cy="{self.y(y):.1f}" r="6"/>'
        )

    def svg(self) -> str:
        """The chart, its legend above the plot (on as many rows as it needs)."""
        legend, rows = self._legend()
        shift = (rows - 1) * LEGEND_ROW if rows else -LEGEND_ROW
        height = self.height + shift
        plot = f"{LEFT} {TOP + shift} {self.width - RIGHT} {self.height - BOTTOM + shift}"
        ident = f' id="{escape(self.element_id)}"' if self.element_id else ""
        return (
            f'<svg class="chart"{ident} viewBox="0 0 {self.width} {height}" width="{self.width}" '
            f'height="{height}" role="img" aria-label="{escape(self.title)}" data-plot="{plot}" '
            f'data-x-range="{self.x_range[0]:.6g} {self.x_range[1]:.6g}" '
            f'data-y-range="{self.y_range[0]:.6g} {self.y_range[1]:.6g}">'
            f'<title>{escape(self.title)}</title><g class="legend">{legend}</g>'
            f'<g transform="translate(0 {shift})">{"".join(self.parts)}</g></svg>'
        )

    def _legend(self) -> tuple[str, int]:
        """Legend entries flowing left to right above the plot; the markup and its number of rows."""
        items, x, row = [], float(LEFT), 0
        for name, color in self.legend:
            if not name:
                continue
            width = 24 + 6.5 * len(name)
            if x + width > self.width - RIGHT and x > LEFT:
                x, row = LEFT, row + 1
            items.append(
                f'<g transform="translate({x:.0f} {6 + row * LEGEND_ROW})"><rect width="10" height="10" '
                f'fill="{color}"/><text x="14" y="9">{escape(name)}</text></g>'
            )
            x += width
        return "".join(items), (row + 1 if items else 0)


def histogram(
    title: str,
    edges: Sequence[float],
    groups: Sequence[tuple[str, Sequence[float], str]],
    x_label: str,
    y_label: str = "records",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Chart:
    """A histogram chart (not yet closed with `svg()`, so markers can be added)."""
    top = max((max(counts, default=0) for _, counts, _ in groups), default=0) or 1
    chart = Chart(title, (edges[0], edges[-1]), (0, top * 1.08), x_label, y_label, width, height)
    chart.bars(edges, groups)
    return chart


def sparkline(
    values: Sequence[float | None],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    label: str,
    width: int = 160,
    height: int = 36,
) -> str:
    """A small trend of values with their intervals (oldest left), for a table cell; no axes."""
    lo, hi = padded([v for v in (*values, *lows, *highs) if v is not None])
    x = Scale(0, max(len(values) - 1, 1), 4, width - 4)
    y = Scale(lo, hi, height - 3, 3)
    whiskers = "".join(
        f'<line class="interval" x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{y(low):.1f}" y2="{y(high):.1f}"/>'
        for i, low, high in _bounded(range(len(values)), lows, highs)
    )
    known = [(i, v) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in known)
    dots = "".join(
        f'<circle class="point" cx="{x(i):.1f}" cy="{y(v):.1f}" r="2" data-y="{v:.6g}"/>' for i, v in known
    )
    return (
        f'<svg class="sparkline" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}"><title>{escape(label)}</title>'
        f'<g stroke="{PALETTE[0]}" stroke-width="4" stroke-opacity="0.25">{whiskers}</g>'
        f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="1.5" points="{path}"/>'
        f'<g fill="{PALETTE[0]}">{dots}</g></svg>'
    )


def bar_list(
    items: Sequence[tuple[str, float]],
    *,
    scale_max: float | None = None,
    text: Sequence[str] | None = None,
    color: str = PALETTE[0],
    highlight: str | None = None,
    label_width: int = 170,
) -> str:
    """Horizontal bars, one labelled row per item (categories, correlations, metric vs baseline)."""
    top = scale_max if scale_max else max((value for _, value in items), default=0) or 1
    bar_width, row = 300, 22
    rows = []
    for index, (label, value) in enumerate(items):
        y = index * row
        length = max(value, 0) / top * bar_width if top else 0
        fill = PALETTE[1] if label == highlight else color
        shown = text[index] if text is not None else number(value)
        rows.append(
            f'<g transform="translate(0 {y})"><text x="{label_width - 6}" y="15" text-anchor="end">'
            f"{escape(_clip(label))}<title>{escape(label)}</title></text>"
            f'<rect class="bar" x="{label_width}" y="3" width="{length:.1f}" height="16" fill="{fill}" '
            f'data-label="{escape(label)}" data-value="{value:.6g}"/>'
            f'<text x="{label_width + length + 6:.1f}" y="15">{escape(shown)}</text></g>'
        )
    height = max(len(items), 1) * row + 4
    return (
        f'<svg class="chart bars" viewBox="0 0 {label_width + bar_width + 90} {height}" '
        f'width="{label_width + bar_width + 90}" height="{height}" role="img">{"".join(rows)}</svg>'
    )


def scatter(title: str, xs: Sequence[float], ys: Sequence[float], x_label: str, y_label: str) -> str:
    """Points with the y = x diagonal (predicted against actual)."""
    lo, hi = padded([*xs, *ys])
    chart = Chart(title, (lo, hi), (lo, hi), x_label, y_label, width=420, height=380)
    chart.line(Series("predicted = actual", [lo, hi], [lo, hi], color="#999", dashed=True))
    chart.points(Series("", xs, ys))
    return chart.svg()


def heat_map(labels: Sequence[str], counts: Sequence[Sequence[int]]) -> str:
    """Confusion matrix: rows actual, columns predicted; shade by share of the actual row."""
    cell, left, top = 52, 130, 96
    size = len(labels)
    parts = []
    for col, label in enumerate(labels):
        x = left + col * cell + cell / 2
        parts.append(
            f'<text class="tick" transform="translate({x:.1f} {top - 8}) rotate(-40)">{escape(_clip(label, 14))}'
            f"<title>{escape(label)}</title></text>"
        )
    for row, label in enumerate(labels):
        total = sum(counts[row]) or 1
        y = top + row * cell
        parts.append(
            f'<text class="tick" x="{left - 8}" y="{y + cell / 2 + 4:.1f}" text-anchor="end">'
            f"{escape(_clip(label, 18))}<title>{escape(label)}</title></text>"
        )
        for col, count in enumerate(counts[row]):
            share = count / total
            fill = f"rgba(76,120,168,{0.08 + 0.92 * share:.3f})" if count else "#f4f4f4"
            ink = "#fff" if share > 0.55 else "#222"
            parts.append(
                f'<g class="cell" data-actual="{escape(label)}" data-predicted="{escape(labels[col])}" '
                f'data-value="{count}"><rect x="{left + col * cell}" y="{y}" width="{cell - 2}" '
                f'height="{cell - 2}" fill="{fill}" stroke="{"#333" if row == col else "none"}"/>'
                f'<text x="{left + col * cell + cell / 2 - 1:.1f}" y="{y + cell / 2 + 4:.1f}" fill="{ink}" '
                f'text-anchor="middle">{count}</text><title>actual {escape(label)}, predicted '
                f"{escape(labels[col])}: {count} ({share:.0%} of actual)</title></g>"
            )
    width, height = left + size * cell + 10, top + size * cell + 30
    parts.append(
        f'<text class="label" x="{left + size * cell / 2:.1f}" y="24" text-anchor="middle">predicted</text>'
        f'<text class="label" transform="translate(14 {top + size * cell / 2:.1f}) rotate(-90)" '
        'text-anchor="middle">actual</text>'
    )
    return (
        f'<svg class="chart heat-map" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="confusion matrix">{"".join(parts)}</svg>'
    )


def _bounded(
    xs: Sequence[float], lows: Sequence[float | None], highs: Sequence[float | None]
) -> list[tuple[float, float, float]]:
    """(x, low, high) where both bounds are known."""
    return [
        (x, low, high)
        for x, low, high in zip(xs, lows, highs, strict=True)
        if low is not None and high is not None and _finite(x, low, high)
    ]


def _finite(*values: float | None) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def _clip(text: str, length: int = 24) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
