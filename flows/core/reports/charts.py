"""Charts for the HTML reports, each returned as an inline SVG string.

A report must open offline from a single file, so every chart is an SVG embedded in the page:
no JavaScript, no network, no image files beside it. Text stays text, metadata is dropped and
coordinates rounded, so a chart is a few kilobytes and the same data gives the same bytes. The
root `<svg>` carries `class="chart"` and a `<title>` (a tooltip, and something to count).

Bars and histograms, drawn once per column of a data report, are written directly
(bar_svg.py: a millisecond where matplotlib took 0.1 s). matplotlib draws the rest, imported
only when such a chart is drawn, so the CLI starts fast. Charts are drawn on a
bare `Figure`, never through pyplot; the style is applied with `rc_context`, which swaps the
process-wide rcParams, so a lock serialises drawing.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeAlias
from xml.sax.saxutils import escape

import numpy as np

from flows.core.reports.bar_svg import FILL, bars_svg, histogram_svg

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage

Numbers: TypeAlias = Sequence[float] | np.ndarray
Matrix: TypeAlias = Sequence[Sequence[float]] | np.ndarray

PALETTE = (FILL, "#e07b39", "#4e9a6a", "#c44e52", "#8172b3", "#937860", "#da8bc3",
           "#8c8c8c")
SIZE = (5.5, 2.6)
MAX_BARS = 30
MAX_LABEL = 28
MAX_POINTS = 2_000
ANNOTATE_MAX = 15  # more cells than 15 x 15 and the numbers no longer fit in them

_LOCK = threading.Lock()
_NUMBER = re.compile(r"-?\d+\.\d+")
_COORDINATES = re.compile(r'(?<=\s)(d|x|y)="([^"]*)"')
_NO_ROTATION = re.compile(r' transform="rotate\(-?0 [^"]*"')
_NO_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


def histogram(edges: Numbers, counts: Numbers, title: str, x_label: str = "",
              size: tuple[float, float] = SIZE) -> str:
    """Pre-binned counts as adjacent bars between consecutive edges."""
    if len(counts) == 0:
        return _no_data(title, size)
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
        return _no_data(title, size or SIZE)
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
        return _no_data(title, size)

    def draw(fig: Figure, ax: Axes) -> None:
        image = _matrix(ax, labels, labels, values, "RdBu_r", vmin, vmax)
        fig.colorbar(image, ax=ax, shrink=0.8).outline.set_visible(False)
        if annotate and len(labels) <= ANNOTATE_MAX:
            _annotate(ax, values, "{:.2f}", dark=lambda v: abs(v - (vmin + vmax) / 2)
                      > 0.3 * (vmax - vmin))

    return _render(title, size, draw)


def missing_matrix(columns: Sequence[str], missing: np.ndarray, title: str,
                   size: tuple[float, float] = (5.5, 3.2)) -> str:
    """Which cells of a sample of rows are missing (dark) or present (light), by column."""
    cells = np.asarray(missing, dtype=bool)
    if len(columns) == 0 or cells.size == 0:
        return _no_data(title, size)

    def draw(fig: Figure, ax: Axes) -> None:
        from matplotlib.colors import ListedColormap

        # One pixel per cell, scaled by the browser with crisp edges: a few hundred bytes
        # whatever the number of rows, where one vector rectangle per cell would not be.
        ax.imshow(cells, cmap=ListedColormap(["#e6ebf1", "#2b3a4a"]), vmin=0, vmax=1,
                  aspect="auto", interpolation="none")
        _column_ticks(ax, columns)
        ax.set_yticks([])
        ax.set_ylabel(f"{cells.shape[0]} sampled rows (dark = missing)")
        ax.grid(False)

    return _render(title, size, draw)


def lines(series: Mapping[str, tuple[Numbers, Numbers]], title: str,
          x_label: str, y_label: str, diagonal: bool = False,
          size: tuple[float, float] = SIZE) -> str:
    """Named x/y curves with a legend; `diagonal` adds the dashed y = x reference of ROC and
    calibration curves."""
    curves = {name: xy for name, xy in series.items() if len(xy[0])}
    if not curves:
        return _no_data(title, size)

    def draw(fig: Figure, ax: Axes) -> None:
        for name, (x, y) in curves.items():
            ax.plot(x, y, linewidth=1.4, label=_short(name))
        if diagonal:
            ax.axline((0, 0), slope=1, color="#999999", linestyle="--", linewidth=0.8)
        ax.set(xlabel=x_label, ylabel=y_label)
        ax.legend(frameon=False)

    return _render(title, size, draw)


def confusion_matrix(labels: Sequence[str], counts: Matrix, title: str,
                     size: tuple[float, float] = (4.6, 3.8)) -> str:
    """Counts of true (rows) against predicted (columns) classes, written in the cells when
    there are at most `ANNOTATE_MAX` classes."""
    values = np.asarray(counts, dtype=float)
    if len(labels) == 0 or values.size == 0:
        return _no_data(title, size)

    def draw(fig: Figure, ax: Axes) -> None:
        top = max(float(values.max()), 1.0)
        _matrix(ax, labels, labels, values, "Blues", 0.0, top)
        ax.set(xlabel="predicted", ylabel="true")
        if len(labels) <= ANNOTATE_MAX:
            _annotate(ax, values, "{:.0f}", dark=lambda v: v > top / 2)

    return _render(title, size, draw)


def scatter(x: Numbers, y: Numbers, title: str, x_label: str, y_label: str,
            horizontal_line: float | None = None, size: tuple[float, float] = SIZE) -> str:
    """Points (residuals against predictions, say); past `MAX_POINTS` a fixed-seed sample is
    drawn, so the SVG stays small and the same data gives the same chart."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xs.size == 0:
        return _no_data(title, size)
    if xs.size > MAX_POINTS:
        keep = np.sort(np.random.default_rng(0).choice(xs.size, MAX_POINTS, replace=False))
        xs, ys = xs[keep], ys[keep]

    def draw(fig: Figure, ax: Axes) -> None:
        ax.plot(xs, ys, "o", color=PALETTE[0], alpha=0.35, markersize=2.5, markeredgewidth=0)
        if horizontal_line is not None:
            ax.axhline(horizontal_line, color="#555555", linestyle="--", linewidth=0.8)
        ax.set(xlabel=x_label, ylabel=y_label)

    return _render(title, size, draw)


def steps(x: Numbers, y: Numbers, title: str, x_label: str, y_label: str,
          points_x: Numbers = (), points_y: Numbers = (),
          size: tuple[float, float] = SIZE) -> str:
    """A step line (the best score so far over time) over faint dots (every trial)."""
    if len(x) == 0 and len(points_x) == 0:
        return _no_data(title, size)

    def draw(fig: Figure, ax: Axes) -> None:
        if len(points_x):
            ax.plot(points_x, points_y, "o", color=PALETTE[1], alpha=0.3, markersize=3,
                    markeredgewidth=0, label="trials")
        if len(x):
            ax.step(x, y, where="post", color=PALETTE[0], linewidth=1.4, label="best so far")
        ax.set(xlabel=x_label, ylabel=y_label)
        ax.legend(frameon=False)

    return _render(title, size, draw)


def _no_data(title: str, size: tuple[float, float]) -> str:
    def draw(fig: Figure, ax: Axes) -> None:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no data", ha="center", va="center", color="#888888",
                transform=ax.transAxes)

    return _render(title, (size[0], min(size[1], 1.2)), draw)


def _matrix(ax: Axes, rows: Sequence[str], columns: Sequence[str], values: np.ndarray,
            cmap: str, vmin: float, vmax: float) -> AxesImage:
    """One pixel per cell, which the browser scales with crisp edges (NaN is transparent)."""
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="none")
    _column_ticks(ax, columns)
    ax.set_yticks(range(len(rows)), [_short(r) for r in rows])
    ax.tick_params(length=0)
    ax.grid(False)
    ax.spines[:].set_visible(False)
    return image


def _column_ticks(ax: Axes, columns: Sequence[str]) -> None:
    """One tick per column; labels tilt only when they are too long to sit side by side."""
    names = [_short(c) for c in columns]
    tilt = max(map(len, names)) > 4
    ax.set_xticks(range(len(names)), names, rotation=60 if tilt else 0,
                  ha="right" if tilt else "center", rotation_mode="anchor")


def _annotate(ax: Axes, values: np.ndarray, fmt: str, dark: Callable[[float], bool]) -> None:
    size = 7 if values.shape[0] > 8 else 8
    for (row, column), value in np.ndenumerate(values):
        if np.isfinite(value):
            ax.text(column, row, fmt.format(value), ha="center", va="center", fontsize=size,
                    color="white" if dark(value) else "#222222")


def _short(label: object) -> str:
    text = str(label)
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1] + "…"


def _render(title: str, size: tuple[float, float], draw: Callable[[Figure, Axes], None]) -> str:
    """Draw one chart on a fresh Figure under the house style and return its inline SVG."""
    import matplotlib
    from cycler import cycler
    from matplotlib.figure import Figure

    buffer = io.StringIO()
    with _LOCK, matplotlib.rc_context({
            "svg.fonttype": "none", "svg.hashsalt": title, "text.parse_math": False,
            "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans", "Arial"],
            "font.size": 8, "axes.titlesize": 9, "axes.titlelocation": "left",
            "axes.labelsize": 8, "xtick.labelsize": 7.5, "ytick.labelsize": 7.5,
            "legend.fontsize": 7.5, "axes.spines.top": False, "axes.spines.right": False,
            "axes.edgecolor": "#999999", "axes.labelcolor": "#333333", "text.color": "#222222",
            "xtick.color": "#555555", "ytick.color": "#555555", "axes.grid": True,
            "axes.axisbelow": True, "grid.color": "#e6e6e6", "grid.linewidth": 0.6,
            "axes.prop_cycle": cycler(color=PALETTE),
    }):
        fig = Figure(figsize=size, layout="constrained")
        ax = fig.add_subplot()
        draw(fig, ax)
        ax.set_title(title)
        fig.savefig(buffer, format="svg", metadata=_NO_METADATA)
    return _finish(buffer.getvalue(), title)


def _finish(svg: str, title: str) -> str:
    """Drop the XML prolog, indentation and no-op rotations, round coordinates to 0.1 pt,
    scope matplotlib's `*{...}` stylesheet to the chart (inline, it would apply to the whole
    page) and mark the root."""
    svg = re.sub(r">\s+<", "><", svg[svg.index("<svg"):].strip())
    svg = _COORDINATES.sub(lambda m: f'{m[1]}="{_round(m[2])}"', svg)
    svg = _NO_ROTATION.sub("", svg).replace('<style type="text/css">*{', "<style>svg.chart *{")
    head = svg.index(">")
    return f'{svg[:head]} class="chart" role="img"><title>{escape(title)}</title>{svg[head + 1:]}'


def _round(coordinates: str) -> str:
    rounded = _NUMBER.sub(lambda m: f"{float(m[0]):.1f}".rstrip("0").rstrip("."), coordinates)
    return " ".join(rounded.split())
