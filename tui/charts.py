"""Charts drawn in the terminal, the counterparts of the report's SVG charts: helpers that
draw plain series into a ``textual_plotext.PlotextPlot`` (lines, steps, dots), and a bar chart
of its own.

Each helper clears the figure first, so a screen can redraw a plot when its data changes,
and says so in the title when there is nothing to draw instead of leaving a blank frame.
Braille markers give a terminal cell 2x4 dots: the finest lines plotext draws. Bars are
drawn as text, one row each: plotext spreads a few bars over a canvas whose rows rarely
divide evenly, and its bars then drift off their labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.widget import Widget
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot

Series = tuple[Sequence[float], Sequence[float]]

MARKER = "braille"
LABEL_WIDTH = 16
"""Longer bar labels are cut: at 80 columns the bars need the room."""
EIGHTHS = " ▏▎▍▌▋▊▉"


def steps(widget: PlotextPlot, x: Sequence[float], y: Sequence[float], title: str,
          x_label: str = "", y_label: str = "",
          points: Series | None = None) -> None:
    """A step line (the value holds until the next x), with optional dots beneath it: a
    running best over time, and the single trials that made it."""
    plt = _start(widget, title, bool(x))
    if x:
        if points is not None:
            plt.scatter(list(points[0]), list(points[1]), marker="dot", color="gray",
                        label="trial")
        step_x, step_y = [x[0]], [y[0]]
        for i in range(1, len(x)):
            step_x += [x[i], x[i]]
            step_y += [y[i - 1], y[i]]
        plt.plot(step_x, step_y, marker=MARKER, label="best so far")
    _finish(widget, x_label, y_label)


def lines(widget: PlotextPlot, curves: Mapping[str, Series], title: str, x_label: str = "",
          y_label: str = "", diagonal: bool = False) -> None:
    """One labelled line per series; ``diagonal`` adds y = x over [0, 1] (what a chance ROC
    curve or a perfect calibration looks like)."""
    plt = _start(widget, title, bool(curves))
    if curves and diagonal:
        plt.plot([0.0, 1.0], [0.0, 1.0], marker=MARKER, color="gray")
    for name, (x, y) in curves.items():
        plt.plot(list(x), list(y), marker=MARKER, label=name)
    _finish(widget, x_label, y_label)


def scatter(widget: PlotextPlot, x: Sequence[float], y: Sequence[float], title: str,
            x_label: str = "", y_label: str = "",
            horizontal_line: float | None = None) -> None:
    """Dots, with an optional horizontal reference line (zero, for residuals)."""
    plt = _start(widget, title, bool(x))
    if x:
        plt.scatter(list(x), list(y), marker=MARKER)
        if horizontal_line is not None:
            plt.hline(horizontal_line, color="gray")
    _finish(widget, x_label, y_label)


def _start(widget: PlotextPlot, title: str, has_data: bool) -> Plot:
    plt = widget.plt
    plt.clear_figure()
    plt.title(title if has_data else f"{title}: nothing recorded")
    return plt


def _finish(widget: PlotextPlot, x_label: str, y_label: str) -> None:
    widget.plt.xlabel(x_label)
    widget.plt.ylabel(y_label)
    widget.refresh()


def _short(label: str) -> str:
    return label if len(label) <= LABEL_WIDTH else label[:LABEL_WIDTH - 1] + "…"


class BarChart(Widget):
    """Horizontal bars, one text row each, largest magnitude filling the width; a bar's
    last cell is drawn in eighths. Negative values get no bar, only their number."""

    DEFAULT_CSS = """
    BarChart { width: 1fr; height: 1fr; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title, self.value_label = "", ""
        self.labels: tuple[str, ...] = ()
        self.values: tuple[float, ...] = ()

    def show(self, labels: Sequence[str], values: Sequence[float], title: str,
             value_label: str = "") -> None:
        """Bars in the caller's order, the first on top."""
        self.labels, self.values = tuple(labels), tuple(values)
        self.title, self.value_label = title, value_label
        self.refresh()

    def render(self) -> Text:
        title = self.title if self.labels else f"{self.title}: nothing recorded"
        text = Text.assemble((title.center(self.size.width).rstrip(), "bold"))
        names = [_short(label) for label in self.labels]
        numbers = [f"{value:.3g}" for value in self.values]
        label_width = max(map(len, names), default=0)
        number_width = max(map(len, numbers), default=0)
        room = max(self.size.width - label_width - number_width - 2, 1)
        top = max((abs(value) for value in self.values), default=0.0) or 1.0
        colour = self.app.theme_variables.get("primary", "blue")
        for name, value, number in zip(names, self.values, numbers, strict=True):
            eighths = round(max(value, 0.0) / top * room * 8)
            bar = "█" * (eighths // 8) + EIGHTHS[eighths % 8].strip()
            text.append(f"\n{name:>{label_width}} ")
            text.append(bar, style=colour)
            text.append(f" {number}")
        if self.value_label and self.labels:
            text.append(f"\n{self.value_label}", style="dim")
        return text
