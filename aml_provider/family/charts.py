"""Inline SVG charts for the decision report: intervals, ROC curves, confusion matrices, histograms.

Every function answers an `<svg>` element as text; every label is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

COLORS = {"challenger": "#1f6feb", "champion": "#d4761c", "baseline": "#6e7781"}
WIDTH, HEIGHT, PAD = 360, 260, 40


def svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>{"".join(body)}</svg>'
    )


def text(x: float, y: float, value: str, anchor: str = "middle", size: int = 11, **attributes: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attributes.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>{escape(value)}</text>'


def intervals(
    rows: Sequence[tuple[str, float, float, float, str]], reference: tuple[str, float] | None, title: str
) -> str:
    """Horizontal intervals (label, estimate, low, high, color) with a dashed reference line (label, value)."""
    values = [v for _, estimate, low, high, _ in rows for v in (estimate, low, high)]
    if reference is not None:
        values.append(reference[1])
    lo, hi = min(values), max(values)
    span = (hi - lo) or abs(hi) or 1.0
    lo, hi = lo - 0.08 * span, hi + 0.08 * span
    left, right, height = 110, WIDTH * 1.5 - 20, 34 * len(rows) + 50

    def x(value: float) -> float:
        return left + (value - lo) / (hi - lo) * (right - left)

    body = [f'<line x1="{left}" y1="{height - 28}" x2="{right}" y2="{height - 28}" stroke="#999"/>']
    for tick in (lo + 0.08 * span, (lo + hi) / 2, hi - 0.08 * span):
        body.append(text(x(tick), height - 12, f"{tick:.4g}", size=10))
    if reference is not None:
        rx = x(reference[1])
        body.append(
            f'<line x1="{rx:.1f}" y1="8" x2="{rx:.1f}" y2="{height - 28}" stroke="#6e7781" stroke-dasharray="4 3"/>'
        )
        right_half = rx > (left + right) / 2
        label = f"{reference[0]} {reference[1]:.4g}"
        body.append(
            text(
                rx + (-4 if right_half else 4),
                16,
                label,
                "end" if right_half else "start",
                10,
                fill="#6e7781",
            )
        )
    for i, (label, estimate, low, high, color) in enumerate(rows):
        y = 34 + 34 * i
        body.append(text(left - 8, y + 4, label, anchor="end"))
        body.append(
            f'<line x1="{x(low):.1f}" y1="{y}" x2="{x(high):.1f}" y2="{y}" stroke="{color}" stroke-width="3"/>'
        )
        body.append(f'<circle cx="{x(estimate):.1f}" cy="{y}" r="5" fill="{color}"/>')
        body.append(text(x(estimate), y - 9, f"{estimate:.4f} [{low:.4f}, {high:.4f}]", size=10))
    return svg(int(WIDTH * 1.5), height, body, title)


def _axes(x_label: str, y_label: str) -> list[str]:
    bottom, right = HEIGHT - PAD, WIDTH - 10
    return [
        f'<line x1="{PAD}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#999"/>',
        f'<line x1="{PAD}" y1="10" x2="{PAD}" y2="{bottom}" stroke="#999"/>',
        text((PAD + right) / 2, HEIGHT - 8, x_label),
        text(12, (10 + bottom) / 2, y_label, transform=f"rotate(-90 12 {(10 + bottom) / 2})"),
    ]


def roc_curves(curves: dict[str, list[dict[str, float]]]) -> str:
    """ROC curves by role (points of falsePositiveRate, truePositiveRate), with the chance diagonal."""
    width, height = WIDTH - 10 - PAD, HEIGHT - PAD - 10

    def point(p: dict[str, float]) -> str:
        return f"{PAD + p['falsePositiveRate'] * width:.1f},{10 + (1 - p['truePositiveRate']) * height:.1f}"

    body = _axes("false positive rate", "true positive rate")
    body.append(
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - 10}" y2="10" stroke="#ccc" stroke-dasharray="4 3"/>'
    )
    for i, (role, points) in enumerate(curves.items()):
        color = COLORS.get(role, "#333")
        body.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{" ".join(map(point, points))}"/>'
        )
        body.append(text(WIDTH - 20, HEIGHT - PAD - 12 - 14 * i, role, anchor="end", fill=color))
    return svg(WIDTH, HEIGHT, body, "ROC curves")


def confusion_matrix(role: str, confusion: dict[str, Any]) -> str:
    """A heat map of counts: actual classes down, predicted classes across."""
    labels, counts = confusion["labels"], confusion["counts"]
    cell, left, top = max(18, min(48, 240 // max(1, len(labels)))), 90, 40
    size = left + cell * len(labels) + 10
    peak = max((max(row) for row in counts), default=0) or 1
    body = [
        text(left + cell * len(labels) / 2, 14, f"{role}: predicted →", size=11),
        text(4, 14, "actual ↓", "start", 11),
    ]
    for i, label in enumerate(labels):
        body.append(text(left + cell * (i + 0.5), top - 6, str(label), size=10))
        body.append(text(left - 6, top + cell * (i + 0.6), f"{label}", anchor="end", size=10))
        for j, count in enumerate(counts[i]):
            shade = 0.1 + 0.9 * count / peak
            color = COLORS.get(role, "#333")
            body.append(
                f'<rect x="{left + cell * j}" y="{top + cell * i}" width="{cell}" height="{cell}" fill="{color}" '
                f'fill-opacity="{shade:.2f}" stroke="#fff"/>'
            )
            body.append(
                text(left + cell * (j + 0.5), top + cell * (i + 0.6), str(count), size=9, fill="#000")
            )
    return svg(size, top + cell * len(labels) + 10, body, f"confusion matrix of the {role}")


def histograms(edges: list[float], counts: dict[str, list[int]], x_label: str) -> str:
    """Bars per bin for each role side by side (shared bin edges)."""
    bins = max(1, len(edges) - 1)
    width, height = WIDTH - 10 - PAD, HEIGHT - PAD - 10
    peak = max((max(c) for c in counts.values() if c), default=0) or 1
    slot = width / bins / max(1, len(counts))
    body = _axes(x_label, "rows")
    for k, (role, values) in enumerate(counts.items()):
        color = COLORS.get(role, "#333")
        for i, count in enumerate(values):
            bar = height * count / peak
            x = PAD + width * i / bins + slot * k
            body.append(
                f'<rect x="{x:.1f}" y="{10 + height - bar:.1f}" width="{slot:.1f}" height="{bar:.1f}" fill="{color}"/>'
            )
        body.append(text(WIDTH - 20, 24 + 14 * k, role, anchor="end", fill=color))
    if edges:
        body.append(text(PAD, HEIGHT - PAD + 14, f"{edges[0]:.3g}", size=10))
        body.append(text(WIDTH - 10, HEIGHT - PAD + 14, f"{edges[-1]:.3g}", size=10))
    return svg(WIDTH, HEIGHT, body, f"histogram of {x_label}")


def bar(value: float, limit: float, scale: float) -> str:
    """A small horizontal bar (e.g. a PSI), red beyond `limit`."""
    width = 120 * min(1.0, max(0.0, value) / scale) if scale else 0
    color = "#cf222e" if value > limit else "#2da44e"
    return svg(
        124, 12, [f'<rect x="0" y="1" width="{width:.1f}" height="10" fill="{color}"/>'], f"{value:.3f}"
    )
