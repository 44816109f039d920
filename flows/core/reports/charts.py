"""Charts for the HTML reports, each returned as an inline SVG string.

A report must open offline from a single file, so every chart is an SVG embedded in the page:
no JavaScript, no network, no image files beside it. Text stays text and coordinates are
rounded, so a chart is a few kilobytes and the same data gives the same bytes. The root
`<svg>` carries `class="chart"` and a `<title>` (a tooltip, and something to count). This
module says what each chart shows and copes with empty or oversized input; the SVG is written
by bar_svg.py, plot_svg.py and grid_svg.py (svg.py: why not matplotlib).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

import numpy as np

from flows.core.reports.bar_svg import bars_svg, histogram_svg
from flows.core.reports.grid_svg import ANNOTATE_MAX, matrix_svg, presence_svg
from flows.core.reports.plot_svg import Series, plot_svg
from flows.core.reports.svg import PALETTE, no_data

Numbers: TypeAlias = Sequence[float] | np.ndarray
Matrix: TypeAlias = Sequence[Sequence[float]] | np.ndarray

SIZE = (5.5, 2.6)
MAX_BARS = 30
MAX_LABEL = 28
MAX_POINTS = 2_000
__all__ = ["ANNOTATE_MAX", "MAX_BARS", "MAX_LABEL", "MAX_POINTS", "bars", "confusion_matrix",
           "heatmap", "histogram", "lines", "missing_matrix", "scatter", "steps"]


def histogram(edges: Numbers, counts: Numbers, title: str, x_label: str = "",
              size: tuple[float, float] = SIZE) -> str:
    """Pre-binned counts as adjacent bars between consecutive edges."""
    if len(counts) == 0:
        return no_data(title, size)
    if len(edges) != len(counts) + 1:
        raise ValueError(f"{len(counts)} counts need {len(counts) + 1} edges, got {len(edges)}")
    return histogram_svg([float(e) for e in edges], [float(c) for c in counts], title,
                         x_label, size)


def bars(labels: Sequence[str], values: Numbers, title: str, horizontal: bool = True,
         value_label: str = "", size: tuple[float, float] | None = None) -> str:
    """The first `MAX_BARS` values as bars, in the caller's order (top to bottom, or left to
    right). A horizontal chart grows taller with its number of bars unless `size` is given."""
    names = [_short(label) for label in labels[:MAX_BARS]]
    heights = list(values[:MAX_BARS])
    if not names:
        return no_data(title, size or SIZE)
    tall = (SIZE[0], max(SIZE[1], 0.7 + 0.17 * len(names)))
    return bars_svg(names, [float(h) for h in heights], title, horizontal, value_label,
                    size or (tall if horizontal else SIZE))


def heatmap(labels: Sequence[str], matrix: Matrix, title: str,
            vmin: float = -1.0, vmax: float = 1.0, annotate: bool = True,
            size: tuple[float, float] = (5.5, 4.6)) -> str:
    """A square matrix (correlations) on a diverging scale; NaN cells stay blank and values
    are written in the cells when there are at most `ANNOTATE_MAX` labels."""
    values = np.asarray(matrix, dtype=float)
    if len(labels) == 0 or values.size == 0:
        return no_data(title, size)
    names = [_short(label) for label in labels]
    return matrix_svg(names, names, values, title, size, vmin, vmax, diverging=True,
                      number_format="{:.2f}" if annotate else None, colour_bar=True)


def missing_matrix(columns: Sequence[str], missing: np.ndarray, title: str,
                   size: tuple[float, float] = (5.5, 3.2)) -> str:
    """Which cells of a sample of rows are missing (dark) or present (light), by column."""
    cells = np.asarray(missing, dtype=bool)
    if len(columns) == 0 or cells.size == 0:
        return no_data(title, size)
    return presence_svg([_short(c) for c in columns], cells, title, size,
                        f"{cells.shape[0]} sampled rows (dark = missing)")


def lines(series: Mapping[str, tuple[Numbers, Numbers]], title: str,
          x_label: str, y_label: str, diagonal: bool = False,
          size: tuple[float, float] = SIZE) -> str:
    """Named x/y curves with a legend; `diagonal` adds the dashed y = x reference of ROC and
    calibration curves."""
    curves = [Series(_short(name), np.asarray(x, dtype=float), np.asarray(y, dtype=float),
                     color=PALETTE[index % len(PALETTE)])
              for index, (name, (x, y)) in enumerate(series.items()) if len(x)]
    if not curves:
        return no_data(title, size)
    return plot_svg(curves, title, x_label, y_label, size, diagonal=diagonal)


def confusion_matrix(labels: Sequence[str], counts: Matrix, title: str,
                     size: tuple[float, float] = (4.6, 3.8)) -> str:
    """Counts of true (rows) against predicted (columns) classes, written in the cells when
    there are at most `ANNOTATE_MAX` classes."""
    values = np.asarray(counts, dtype=float)
    if len(labels) == 0 or values.size == 0:
        return no_data(title, size)
    names = [_short(label) for label in labels]
    return matrix_svg(names, names, values, title, size, 0.0, max(float(values.max()), 1.0),
                      diverging=False, number_format="{:.0f}", x_label="predicted",
                      y_label="true")


def scatter(x: Numbers, y: Numbers, title: str, x_label: str, y_label: str,
            horizontal_line: float | None = None, size: tuple[float, float] = SIZE) -> str:
    """Points (residuals against predictions, say); past `MAX_POINTS` a fixed-seed sample is
    drawn, so the SVG stays small and the same data gives the same chart."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xs.size == 0:
        return no_data(title, size)
    if xs.size > MAX_POINTS:
        keep = np.sort(np.random.default_rng(0).choice(xs.size, MAX_POINTS, replace=False))
        xs, ys = xs[keep], ys[keep]
    return plot_svg([Series("", xs, ys, "points", opacity=0.35)], title, x_label, y_label,
                    size, horizontal_line=horizontal_line, legend=False)


def steps(x: Numbers, y: Numbers, title: str, x_label: str, y_label: str,
          points_x: Numbers = (), points_y: Numbers = (),
          size: tuple[float, float] = SIZE) -> str:
    """A step line (the best score so far over time) over faint dots (every trial)."""
    drawn = []
    if len(points_x):
        drawn.append(Series("trials", np.asarray(points_x, dtype=float),
                            np.asarray(points_y, dtype=float), "points", PALETTE[1], 0.5))
    if len(x):
        drawn.append(Series("best so far", np.asarray(x, dtype=float),
                            np.asarray(y, dtype=float), "step"))
    if not drawn:
        return no_data(title, size)
    return plot_svg(drawn, title, x_label, y_label, size)


def _short(label: object) -> str:
    text = str(label)
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1] + "…"
