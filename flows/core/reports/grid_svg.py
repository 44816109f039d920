"""Charts of a matrix (svg.py's house style): a correlation heatmap, a confusion matrix, and
which cells of a sample of rows are missing."""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from flows.core.reports.svg import (
    CHAR_WIDTH,
    LABEL_BAND,
    TITLE_BAND,
    Box,
    axis_labels,
    document,
    text,
)

ANNOTATE_MAX = 15
"""More cells than 15 x 15 and the numbers no longer fit in them."""
DIVERGING = ((0.0, (33, 102, 172)), (0.5, (247, 247, 247)), (1.0, (178, 24, 43)))
SEQUENTIAL = ((0.0, (247, 251, 255)), (1.0, (8, 48, 107)))
MISSING_COLOURS = ((230, 235, 241), (43, 58, 74))
"""Present, missing."""


def matrix_svg(rows: Sequence[str], columns: Sequence[str], values: np.ndarray, title: str,
               size: tuple[float, float], low: float, high: float, diverging: bool,
               number_format: str | None, x_label: str = "", y_label: str = "",
               colour_bar: bool = False) -> str:
    """One square cell per value, coloured on a scale from ``low`` to ``high`` (NaN left
    blank), the value written in it with ``number_format`` when there are at most
    ANNOTATE_MAX rows."""
    width, height = size[0] * 72, size[1] * 72
    scale = DIVERGING if diverging else SEQUENTIAL
    box, cell = _layout(rows, columns, width, height, x_label, y_label, colour_bar)
    annotate = number_format is not None and len(rows) <= ANNOTATE_MAX
    font = 7.0 if len(rows) > 8 else 8.0
    parts = []
    for (row, column), value in np.ndenumerate(values):
        if not np.isfinite(value):
            continue
        share = min(max((value - low) / ((high - low) or 1.0), 0.0), 1.0)
        x, y = box.left + column * cell, box.top + row * cell
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell:.1f}" height="{cell:.1f}" '
                     f'fill="{_colour(scale, share)}"/>')
        if annotate and number_format is not None:
            dark = abs(share - 0.5) > 0.3 if diverging else share > 0.5
            parts.append(text(x + cell / 2, y + cell / 2 + font / 3,
                              number_format.format(value), anchor="middle", size=font,
                              color="white" if dark else "#222222"))
    parts.append(_row_labels(box, rows, cell))
    parts.append(_column_labels(box, columns, cell, len(rows)))
    if colour_bar:
        parts.append(_colour_bar(box, cell * len(columns), cell * len(rows), scale, low,
                                 high))
    parts.append(axis_labels(Box(box.left, box.top, box.left + cell * len(columns),
                                 height - LABEL_BAND + 2), x_label, y_label))
    return document(title, width, height, parts)


def presence_svg(columns: Sequence[str], missing: np.ndarray, title: str,
                 size: tuple[float, float], y_label: str) -> str:
    """Missing cells dark, present ones light, one pixel per cell of an embedded image that
    the browser stretches with crisp edges: a few hundred bytes whatever the rows."""
    width, height = size[0] * 72, size[1] * 72
    tilt = max(map(len, columns)) > 4
    bottom = 14 + (CHAR_WIDTH * 0.85 * max(map(len, columns)) if tilt else 0)
    box = Box(16, TITLE_BAND, width - 10, height - bottom)
    image = base64.b64encode(_png(missing.astype(np.uint8), MISSING_COLOURS)).decode()
    parts = [f'<image x="{box.left:.1f}" y="{box.top:.1f}" width="{box.width:.1f}" '
             f'height="{box.height:.1f}" preserveAspectRatio="none" '
             f'style="image-rendering:pixelated" href="data:image/png;base64,{image}"/>']
    slot = box.width / len(columns)
    parts += [text(box.left + slot * (i + 0.5), box.bottom + 10, name,
                   anchor="end" if tilt else "middle", rotate=-60 if tilt else 0)
              for i, name in enumerate(columns)]
    parts.append(axis_labels(box, "", y_label))
    return document(title, width, height, parts)


def _layout(rows: Sequence[str], columns: Sequence[str], width: float, height: float,
            x_label: str, y_label: str, colour_bar: bool) -> tuple[Box, float]:
    """The plot area and the side of a square cell."""
    tilt = max(map(len, columns)) > 4
    left = 8 + CHAR_WIDTH * max(map(len, rows)) + (LABEL_BAND if y_label else 0)
    bottom = 14 + (CHAR_WIDTH * 0.85 * max(map(len, columns)) if tilt else 0) \
        + (LABEL_BAND if x_label else 0)
    right = width - (48 if colour_bar else 10)
    cell = max(min((right - left) / len(columns), (height - bottom - TITLE_BAND) / len(rows)),
               1.0)
    return Box(left, TITLE_BAND, right, TITLE_BAND + cell * len(rows)), cell


def _row_labels(box: Box, rows: Sequence[str], cell: float) -> str:
    return "".join(text(box.left - 4, box.top + cell * (i + 0.5) + 2.5, name, anchor="end")
                   for i, name in enumerate(rows))


def _column_labels(box: Box, columns: Sequence[str], cell: float, row_count: int) -> str:
    tilt = max(map(len, columns)) > 4
    bottom = box.top + cell * row_count
    return "".join(text(box.left + cell * (i + 0.5), bottom + 10, name,
                        anchor="end" if tilt else "middle", rotate=-60 if tilt else 0)
                   for i, name in enumerate(columns))


def _colour_bar(box: Box, grid_width: float, grid_height: float,
                scale: tuple[tuple[float, tuple[int, int, int]], ...], low: float,
                high: float) -> str:
    """A vertical bar of the colour scale with its two ends and middle labelled."""
    x, steps = box.left + grid_width + 10, 20
    band = grid_height / steps
    parts = [f'<rect x="{x:.1f}" y="{box.top + band * i:.1f}" width="8" '
             f'height="{band + 0.2:.1f}" fill="{_colour(scale, 1 - (i + 0.5) / steps)}"/>'
             for i in range(steps)]
    for share in (0.0, 0.5, 1.0):
        value = low + share * (high - low)
        parts.append(text(x + 11, box.top + grid_height * (1 - share) + 2.5, f"{value:g}"))
    return "".join(parts)


def _colour(scale: tuple[tuple[float, tuple[int, int, int]], ...], share: float) -> str:
    """The colour at ``share`` (0-1) along a piecewise-linear scale."""
    for (start, low), (end, high) in pairwise(scale):
        if share <= end:
            t = (share - start) / ((end - start) or 1.0)
            return "#" + "".join(f"{round(a + (b - a) * t):02x}"
                                 for a, b in zip(low, high, strict=True))
    return "#" + "".join(f"{c:02x}" for c in scale[-1][1])


def _png(indices: np.ndarray, palette: Sequence[tuple[int, int, int]]) -> bytes:
    """A palette PNG of ``indices`` (rows x columns of palette positions)."""
    height, width = indices.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data \
            + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + row.tobytes() for row in indices.astype(np.uint8))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0))
            + chunk(b"PLTE", bytes(c for colour in palette for c in colour))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
