"""Charts on two numeric axes (svg.py's house style): curves, a step line, points."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from flows.core.reports.svg import (
    AXIS,
    CHAR_WIDTH,
    LABEL_BAND,
    PALETTE,
    TICK_BAND,
    TITLE_BAND,
    Box,
    Scale,
    axis_labels,
    document,
    line,
    nice_ticks,
    text,
    tick_label,
    tick_width,
    x_axis,
    y_grid,
)

MAX_CURVE_POINTS = 1_000
"""A curve with more points is drawn through this many, evenly spaced (ends kept)."""


@dataclass(frozen=True)
class Series:
    """One thing drawn: a curve, a step line (a value holding until the next x), or points."""

    name: str
    x: np.ndarray
    y: np.ndarray
    kind: Literal["line", "step", "points"] = "line"
    color: str = PALETTE[0]
    opacity: float = 1.0


def plot_svg(series: Sequence[Series], title: str, x_label: str, y_label: str,
             size: tuple[float, float], diagonal: bool = False,
             horizontal_line: float | None = None, legend: bool = True) -> str:
    """The series over shared axes; ``diagonal`` adds the dashed y = x reference of ROC and
    calibration curves, ``horizontal_line`` a dashed level (zero residual)."""
    width, height = size[0] * 72, size[1] * 72
    xs = np.concatenate([s.x for s in series])
    ys = np.concatenate([s.y for s in series] + ([np.array([horizontal_line])]
                                                 if horizontal_line is not None else []))
    x_ticks = nice_ticks(float(xs.min()), float(xs.max()))
    y_ticks = nice_ticks(float(ys.min()), float(ys.max()))
    box = Box(14 + tick_width(y_ticks), TITLE_BAND, width - 10,
              height - TICK_BAND - (LABEL_BAND if x_label else 0))
    x_of, y_of = box.x_scale(x_ticks[0], x_ticks[-1]), box.y_scale(y_ticks[0], y_ticks[-1])
    parts = [y_grid(box, y_ticks, y_of),
             x_axis(box, [(x_of(t), tick_label(t)) for t in x_ticks])]
    if diagonal:
        low, high = max(x_ticks[0], y_ticks[0]), min(x_ticks[-1], y_ticks[-1])
        parts.append(line(x_of(low), y_of(low), x_of(high), y_of(high), AXIS, dashed=True))
    if horizontal_line is not None:
        level = y_of(horizontal_line)
        parts.append(line(box.left, level, box.right, level, "#555555", dashed=True))
    parts += [_drawn(index, s, x_of, y_of) for index, s in enumerate(series)]
    if legend:
        parts.append(_legend(box, [s for s in series if s.name], x_of, y_of))
    parts.append(axis_labels(box, x_label, y_label))
    return document(title, width, height, parts)



def _drawn(index: int, series: Series, x_of: Scale, y_of: Scale) -> str:
    xs = [x_of(float(v)) for v in series.x]
    ys = [y_of(float(v)) for v in series.y]
    fade = f' opacity="{series.opacity:g}"' if series.opacity < 1 else ""
    if series.kind == "points":
        mark = (f'<defs><circle id="point_{index}" r="1.3" fill="{series.color}"{fade}/>'
                f"</defs>")
        return mark + "".join(f'<use href="#point_{index}" x="{x:.1f}" y="{y:.1f}"/>'
                              for x, y in zip(xs, ys, strict=True))
    if series.kind == "step":
        path = f"M{xs[0]:.1f} {ys[0]:.1f}" + "".join(
            f"H{x:.1f}V{y:.1f}" for x, y in zip(xs[1:], ys[1:], strict=True))
    else:
        keep = _spaced(len(xs))
        path = "M" + "L".join(f"{xs[i]:.1f} {ys[i]:.1f}" for i in keep)
    return (f'<path id="series_{index}" d="{path}" fill="none" stroke="{series.color}" '
            f'stroke-width="1.4"{fade}/>')


def _spaced(count: int) -> list[int]:
    """Indices of at most MAX_CURVE_POINTS evenly spaced points, first and last kept."""
    if count <= MAX_CURVE_POINTS:
        return list(range(count))
    return sorted(set(np.linspace(0, count - 1, MAX_CURVE_POINTS).round().astype(int)))


def _legend(box: Box, series: Sequence[Series], x_of: Scale, y_of: Scale) -> str:
    """The series' names in the corner of the plot that covers the fewest of their points."""
    if not series:
        return ""
    width, height = max(len(s.name) for s in series) * CHAR_WIDTH + 22, 10.0 * len(series)
    xs = np.concatenate([[x_of(float(v)) for v in s.x] for s in series])
    ys = np.concatenate([[y_of(float(v)) for v in s.y] for s in series])
    corners = [(box.right - width, box.top), (box.right - width, box.bottom - height - 4),
               (box.left + 6, box.top), (box.left + 6, box.bottom - height - 4)]
    left, top = min(corners, key=lambda c: int(np.sum((xs >= c[0] - 4) & (xs <= c[0] + width)
                                                      & (ys >= c[1]) & (ys <= c[1] + height
                                                                        + 6))))
    parts = []
    for row, entry in enumerate(series):
        y = top + 6 + 10 * row
        mark = (f'<circle cx="{left + 6:.1f}" cy="{y:.1f}" r="1.6" fill="{entry.color}"/>'
                if entry.kind == "points" else line(left, y, left + 12, y, entry.color, 1.4))
        parts.append(mark + text(left + 16, y + 2.5, entry.name))
    return "".join(parts)
