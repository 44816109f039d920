"""Bar charts and histograms written as SVG directly, without matplotlib.

A data report draws one chart per column: through matplotlib each took ~0.1 s, so a 60-column
table spent 6-9 s of its run's budget on them (measured on the shared sonar table). Bars need
no layout engine: this writes the same house style (palette, fonts, light grid, left-aligned
title) in well under a millisecond. Charts with colour scales, curves or points stay in
matplotlib (charts.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

FILL = "#3b6ea5"
FONT = "DejaVu Sans, Arial, sans-serif"
TITLE_BAND = 20.0
TICK_BAND = 24.0
LABEL_BAND = 12.0
CHAR_WIDTH = 4.3
"""Points per character of 7.5 pt labels, to leave room for them without measuring text."""


def histogram_svg(edges: Sequence[float], counts: Sequence[float], title: str, x_label: str,
                  size: tuple[float, float]) -> str:
    """Adjacent bars between consecutive ``edges``, counts on the y axis."""
    width, height = size[0] * 72, size[1] * 72
    y_ticks = nice_ticks(0.0, max(float(max(counts)), 1.0))
    left = 14 + CHAR_WIDTH * max(len(_tick(t)) for t in y_ticks)
    box = _Box(left, TITLE_BAND, width - 10, height - TICK_BAND - (LABEL_BAND if x_label else 0))
    low, high = float(edges[0]), float(edges[-1])
    if high <= low:
        high = low + 1.0
    x_of = box.x_scale(low, high)
    y_of = box.y_scale(0.0, y_ticks[-1])
    parts = [_y_grid(box, y_ticks, y_of)]
    for index, count in enumerate(counts):
        x0, x1 = x_of(float(edges[index])), x_of(float(edges[index + 1]))
        parts.append(_rect(index, x0, y_of(float(count)), x1 - x0, box.bottom - y_of(float(count)),
                           stroke=True))
    parts.append(_x_axis(box, [(x_of(t), _tick(t)) for t in nice_ticks(low, high)
                               if low <= t <= high]))
    parts.append(_labels(box, x_label, "count"))
    return _document(title, width, height, parts)


def bars_svg(names: Sequence[str], values: Sequence[float], title: str, horizontal: bool,
             value_label: str, size: tuple[float, float]) -> str:
    """One bar per name, in the given order (top to bottom, or left to right)."""
    width, height = size[0] * 72, size[1] * 72
    numbers = [float(v) for v in values]
    ticks = nice_ticks(min(0.0, *numbers), max(0.0, *numbers))
    if horizontal:
        left = 10 + CHAR_WIDTH * max(map(len, names))
        box = _Box(left, TITLE_BAND, width - 12,
                   height - TICK_BAND - (LABEL_BAND if value_label else 0))
        x_of, slot = box.x_scale(ticks[0], ticks[-1]), box.height / len(names)
        parts = [_x_grid(box, ticks, x_of)]
        for index, (name, value) in enumerate(zip(names, numbers, strict=True)):
            top = box.top + slot * (index + 0.15)
            start, end = sorted((x_of(0.0), x_of(value)))
            parts.append(_rect(index, start, top, end - start, slot * 0.7))
            parts.append(_text(box.left - 4, top + slot * 0.35 + 2.5, name, anchor="end"))
        parts.append(_x_axis(box, [(x_of(t), _tick(t)) for t in ticks]))
        parts.append(_labels(box, value_label, ""))
        return _document(title, width, height, parts)
    tilt = max(map(len, names)) > 4
    bottom = TICK_BAND + (CHAR_WIDTH * 0.85 * max(map(len, names)) if tilt else 0)
    left = 14 + CHAR_WIDTH * max(len(_tick(t)) for t in ticks)
    box = _Box(left, TITLE_BAND, width - 10, height - bottom)
    y_of, slot = box.y_scale(ticks[0], ticks[-1]), box.width / len(names)
    parts = [_y_grid(box, ticks, y_of)]
    for index, (name, value) in enumerate(zip(names, numbers, strict=True)):
        x = box.left + slot * (index + 0.15)
        start, end = sorted((y_of(value), y_of(0.0)))
        parts.append(_rect(index, x, start, slot * 0.7, end - start))
        centre = x + slot * 0.35
        parts.append(_text(centre, box.bottom + 10, name, anchor="end" if tilt else "middle",
                           rotate=-60 if tilt else 0))
    parts.append(f'<line x1="{box.left:.1f}" y1="{box.bottom:.1f}" x2="{box.right:.1f}" '
                 f'y2="{box.bottom:.1f}" stroke="#999999" stroke-width="0.8"/>')
    parts.append(_labels(box, "", value_label))
    return _document(title, width, height, parts)


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


class _Box:
    """The plot area in points (y grows downwards, as in SVG)."""

    def __init__(self, left: float, top: float, right: float, bottom: float) -> None:
        self.left, self.top, self.right, self.bottom = left, top, right, bottom
        self.width, self.height = max(right - left, 1.0), max(bottom - top, 1.0)

    def x_scale(self, low: float, high: float) -> _Scale:
        return _Scale(low, high, self.left, self.right)

    def y_scale(self, low: float, high: float) -> _Scale:
        return _Scale(low, high, self.bottom, self.top)


class _Scale:
    def __init__(self, low: float, high: float, start: float, end: float) -> None:
        self.low, self.factor, self.start = low, (end - start) / ((high - low) or 1.0), start

    def __call__(self, value: float) -> float:
        return self.start + (value - self.low) * self.factor


def _document(title: str, width: float, height: float, parts: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            f'width="{width:.0f}pt" height="{height:.0f}pt" viewBox="0 0 {width:.0f} '
            f'{height:.0f}" font-family="{FONT}" font-size="7.5" fill="#555555">'
            f"<title>{escape(title)}</title>"
            f'<text x="6" y="13" font-size="9" fill="#222222">{escape(title)}</text>'
            f"{''.join(parts)}</svg>")


def _rect(index: int, x: float, y: float, width: float, height: float,
          stroke: bool = False) -> str:
    edge = ' stroke="white" stroke-width="0.4"' if stroke else ""
    return (f'<rect id="bar_{index}" x="{x:.1f}" y="{y:.1f}" width="{max(width, 0):.1f}" '
            f'height="{max(height, 0):.1f}" fill="{FILL}"{edge}/>')


def _text(x: float, y: float, text: str, anchor: str = "start", rotate: float = 0) -> str:
    turn = f' transform="rotate({rotate:g} {x:.1f} {y:.1f})"' if rotate else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{turn}>{escape(text)}</text>'


def _y_grid(box: _Box, ticks: Sequence[float], y_of: _Scale) -> str:
    lines = []
    for tick in ticks:
        y = y_of(tick)
        lines.append(f'<line x1="{box.left:.1f}" y1="{y:.1f}" x2="{box.right:.1f}" '
                     f'y2="{y:.1f}" stroke="#e6e6e6" stroke-width="0.6"/>')
        lines.append(_text(box.left - 4, y + 2.5, _tick(tick), anchor="end"))
    return "".join(lines)


def _x_grid(box: _Box, ticks: Sequence[float], x_of: _Scale) -> str:
    return "".join(f'<line x1="{x_of(t):.1f}" y1="{box.top:.1f}" x2="{x_of(t):.1f}" '
                   f'y2="{box.bottom:.1f}" stroke="#e6e6e6" stroke-width="0.6"/>'
                   for t in ticks)


def _x_axis(box: _Box, ticks: Sequence[tuple[float, str]]) -> str:
    axis = (f'<line x1="{box.left:.1f}" y1="{box.bottom:.1f}" x2="{box.right:.1f}" '
            f'y2="{box.bottom:.1f}" stroke="#999999" stroke-width="0.8"/>')
    return axis + "".join(_text(x, box.bottom + 10, label, anchor="middle")
                          for x, label in ticks)


def _labels(box: _Box, x_label: str, y_label: str) -> str:
    parts = []
    if x_label:
        parts.append(f'<text x="{(box.left + box.right) / 2:.1f}" y="{box.bottom + 22:.1f}" '
                     f'text-anchor="middle" font-size="8" fill="#333333">{escape(x_label)}</text>')
    if y_label:
        x, y = 9.0, (box.top + box.bottom) / 2
        parts.append(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" font-size="8" '
                     f'fill="#333333" transform="rotate(-90 {x:.1f} {y:.1f})">'
                     f"{escape(y_label)}</text>")
    return "".join(parts)


def _tick(value: float) -> str:
    """A tick label as a person writes it: 0, 2.5, 40k, 1.2M, 1e-05."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:g}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:g}k"
    return f"{round(value, 10):g}"
