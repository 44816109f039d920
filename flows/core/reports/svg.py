"""The few SVG pieces every chart of the reports is made of, written directly.

A report must open offline from one file and a run pays for every chart inside its budget:
through matplotlib a chart took ~0.1-0.5 s and its import ~0.6 s (the run report's five
charts cost 2.6 s of a 30 s run), where writing the elements takes well under a millisecond.
So charts are plain SVG in one house style: the palette, 7.5 pt labels, a light grid, a
left-aligned title, coordinates rounded to 0.1 pt (the same data gives the same bytes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

FILL = "#3b6ea5"
PALETTE = (FILL, "#e07b39", "#4e9a6a", "#c44e52", "#8172b3", "#937860", "#da8bc3",
           "#8c8c8c")
FONT = "DejaVu Sans, Arial, sans-serif"
TITLE_BAND = 20.0
TICK_BAND = 24.0
LABEL_BAND = 12.0
CHAR_WIDTH = 4.3
"""Points per character of 7.5 pt labels, to leave room for them without measuring text."""
GRID = "#e6e6e6"
AXIS = "#999999"
INK = "#222222"


def nice_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten apart) covering ``low``..``high``."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0, 1.0]
    span = high - low if high > low else max(abs(high), 1.0)
    raw = span / max(most - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(s * power for s in (1, 2, 2.5, 5, 10) if s * power >= raw)
    first = math.floor(low / step) * step
    count = math.ceil((max(high, low + step) - first) / step - 1e-9)
    return [round(first + i * step, 12) for i in range(count + 1)]


class Scale:
    """Data values to points along one axis."""

    def __init__(self, low: float, high: float, start: float, end: float) -> None:
        self.low, self.factor, self.start = low, (end - start) / ((high - low) or 1.0), start

    def __call__(self, value: float) -> float:
        return self.start + (value - self.low) * self.factor


class Box:
    """The plot area in points (y grows downwards, as in SVG)."""

    def __init__(self, left: float, top: float, right: float, bottom: float) -> None:
        self.left, self.top, self.right, self.bottom = left, top, right, bottom
        self.width, self.height = max(right - left, 1.0), max(bottom - top, 1.0)

    def x_scale(self, low: float, high: float) -> Scale:
        return Scale(low, high, self.left, self.right)

    def y_scale(self, low: float, high: float) -> Scale:
        return Scale(low, high, self.bottom, self.top)


def document(title: str, width: float, height: float, parts: Sequence[str]) -> str:
    """The root element: ``class="chart"``, a ``<title>`` tooltip and the visible title."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            f'width="{width:.0f}pt" height="{height:.0f}pt" viewBox="0 0 {width:.0f} '
            f'{height:.0f}" font-family="{FONT}" font-size="7.5" fill="#555555">'
            f"<title>{escape(title)}</title>"
            f'<text x="6" y="13" font-size="9" fill="{INK}">{escape(title)}</text>'
            f"{''.join(parts)}</svg>")


def no_data(title: str, size: tuple[float, float]) -> str:
    """A chart with nothing to draw says so."""
    width, height = size[0] * 72, min(size[1], 1.2) * 72
    return document(title, width, height, [text(width / 2, height / 2 + 6, "no data",
                                                anchor="middle", color="#888888")])


def text(x: float, y: float, content: str, anchor: str = "start", rotate: float = 0,
         color: str | None = None, size: float | None = None) -> str:
    turn = f' transform="rotate({rotate:g} {x:.1f} {y:.1f})"' if rotate else ""
    fill = f' fill="{color}"' if color else ""
    font = f' font-size="{size:g}"' if size else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{fill}{font}{turn}>'
            f"{escape(content)}</text>")


def line(x1: float, y1: float, x2: float, y2: float, color: str = AXIS, width: float = 0.8,
         dashed: bool = False) -> str:
    dash = ' stroke-dasharray="3 2"' if dashed else ""
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{color}" stroke-width="{width:g}"{dash}/>')


def y_grid(box: Box, ticks: Sequence[float], y_of: Scale) -> str:
    """Horizontal grid lines with their values on the left."""
    return "".join(line(box.left, y_of(t), box.right, y_of(t), GRID, 0.6)
                   + text(box.left - 4, y_of(t) + 2.5, tick_label(t), anchor="end")
                   for t in ticks)


def x_grid(box: Box, ticks: Sequence[float], x_of: Scale) -> str:
    """Vertical grid lines."""
    return "".join(line(x_of(t), box.top, x_of(t), box.bottom, GRID, 0.6) for t in ticks)


def x_axis(box: Box, ticks: Sequence[tuple[float, str]]) -> str:
    """The bottom axis line and its tick labels."""
    return line(box.left, box.bottom, box.right, box.bottom) + "".join(
        text(x, box.bottom + 10, label, anchor="middle") for x, label in ticks)


def axis_labels(box: Box, x_label: str, y_label: str) -> str:
    parts = []
    if x_label:
        parts.append(text((box.left + box.right) / 2, box.bottom + 22, x_label,
                          anchor="middle", color="#333333", size=8))
    if y_label:
        parts.append(text(9.0, (box.top + box.bottom) / 2, y_label, anchor="middle",
                          rotate=-90, color="#333333", size=8))
    return "".join(parts)


def tick_label(value: float) -> str:
    """A tick label as a person writes it: 0, 2.5, 40k, 1.2M, 1e-05."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:g}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:g}k"
    return f"{round(value, 10):g}"


def tick_width(ticks: Sequence[float]) -> float:
    """Points the widest tick label of ``ticks`` takes."""
    return CHAR_WIDTH * max(len(tick_label(t)) for t in ticks)
