"""Bar charts and histograms (svg.py's house style): one per column of a data report, so
each must cost well under a millisecond."""

from __future__ import annotations

from collections.abc import Sequence

from flows.core.reports.svg import (
    CHAR_WIDTH,
    FILL,
    LABEL_BAND,
    TICK_BAND,
    TITLE_BAND,
    Box,
    axis_labels,
    document,
    line,
    nice_ticks,
    text,
    tick_label,
    tick_width,
    x_axis,
    x_grid,
    y_grid,
)


def histogram_svg(edges: Sequence[float], counts: Sequence[float], title: str, x_label: str,
                  size: tuple[float, float]) -> str:
    """Adjacent bars between consecutive ``edges``, counts on the y axis."""
    width, height = size[0] * 72, size[1] * 72
    y_ticks = nice_ticks(0.0, max(float(max(counts)), 1.0))
    box = Box(14 + tick_width(y_ticks), TITLE_BAND, width - 10,
              height - TICK_BAND - (LABEL_BAND if x_label else 0))
    low, high = float(edges[0]), float(edges[-1])
    if high <= low:
        high = low + 1.0
    x_of = box.x_scale(low, high)
    y_of = box.y_scale(0.0, y_ticks[-1])
    parts = [y_grid(box, y_ticks, y_of)]
    for index, count in enumerate(counts):
        x0, x1 = x_of(float(edges[index])), x_of(float(edges[index + 1]))
        parts.append(_rect(index, x0, y_of(float(count)), x1 - x0, box.bottom - y_of(float(count)),
                           stroke=True))
    parts.append(x_axis(box, [(x_of(t), tick_label(t)) for t in nice_ticks(low, high)
                              if low <= t <= high]))
    parts.append(axis_labels(box, x_label, "count"))
    return document(title, width, height, parts)


def bars_svg(names: Sequence[str], values: Sequence[float], title: str, horizontal: bool,
             value_label: str, size: tuple[float, float]) -> str:
    """One bar per name, in the given order (top to bottom, or left to right)."""
    width, height = size[0] * 72, size[1] * 72
    numbers = [float(v) for v in values]
    ticks = nice_ticks(min(0.0, *numbers), max(0.0, *numbers))
    if horizontal:
        box = Box(10 + CHAR_WIDTH * max(map(len, names)), TITLE_BAND, width - 12,
                  height - TICK_BAND - (LABEL_BAND if value_label else 0))
        x_of, slot = box.x_scale(ticks[0], ticks[-1]), box.height / len(names)
        parts = [x_grid(box, ticks, x_of)]
        for index, (name, value) in enumerate(zip(names, numbers, strict=True)):
            top = box.top + slot * (index + 0.15)
            start, end = sorted((x_of(0.0), x_of(value)))
            parts.append(_rect(index, start, top, end - start, slot * 0.7))
            parts.append(text(box.left - 4, top + slot * 0.35 + 2.5, name, anchor="end"))
        parts.append(x_axis(box, [(x_of(t), tick_label(t)) for t in ticks]))
        parts.append(axis_labels(box, value_label, ""))
        return document(title, width, height, parts)
    tilt = max(map(len, names)) > 4
    bottom = TICK_BAND + (CHAR_WIDTH * 0.85 * max(map(len, names)) if tilt else 0)
    box = Box(14 + tick_width(ticks), TITLE_BAND, width - 10, height - bottom)
    y_of, slot = box.y_scale(ticks[0], ticks[-1]), box.width / len(names)
    parts = [y_grid(box, ticks, y_of)]
    for index, (name, value) in enumerate(zip(names, numbers, strict=True)):
        x = box.left + slot * (index + 0.15)
        start, end = sorted((y_of(value), y_of(0.0)))
        parts.append(_rect(index, x, start, slot * 0.7, end - start))
        parts.append(text(x + slot * 0.35, box.bottom + 10, name,
                          anchor="end" if tilt else "middle", rotate=-60 if tilt else 0))
    parts.append(line(box.left, box.bottom, box.right, box.bottom))
    parts.append(axis_labels(box, "", value_label))
    return document(title, width, height, parts)


def _rect(index: int, x: float, y: float, width: float, height: float,
          stroke: bool = False) -> str:
    edge = ' stroke="white" stroke-width="0.4"' if stroke else ""
    return (f'<rect id="bar_{index}" x="{x:.1f}" y="{y:.1f}" width="{max(width, 0):.1f}" '
            f'height="{max(height, 0):.1f}" fill="{FILL}"{edge}/>')
