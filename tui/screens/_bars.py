"""Bars drawn with block characters: a value as a horizontal bar (a table cell), and a
column chart (a histogram or a column's most frequent values) sized to its widget.

Text rather than a plot widget: bars in table cells line up with their numbers, and a chart
of twenty bins stays legible in the dozen rows an 80x24 terminal leaves for it.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget

from tui.reads.data import Chart

EIGHTHS_WIDE = " ▏▎▍▌▋▊▉"
EIGHTHS_TALL = " ▁▂▃▄▅▆▇"
FULL = "█"


def hbar(value: float | None, maximum: float, width: int) -> str:
    """``value`` as a bar of up to ``width`` cells, to the eighth of a cell."""
    if value is None or maximum <= 0 or width <= 0:
        return ""
    eighths = round(max(value, 0.0) / maximum * width * 8)
    full, rest = divmod(min(eighths, width * 8), 8)
    return FULL * full + (EIGHTHS_WIDE[rest] if rest else "")


def vbars(counts: Sequence[float], width: int, height: int) -> list[str]:
    """Counts as vertical bars filling ``width`` x ``height`` cells, top row first; every
    bin gets the same whole number of cells, so some columns may stay empty on the right."""
    if not counts or width <= 0 or height <= 0:
        return []
    cell, gap = _bin_cells(len(counts), width)
    top = max(counts)
    heights = [round(c / top * height * 8) if top > 0 else 0 for c in counts]
    lines = []
    for row in range(height - 1, -1, -1):
        line = ""
        for eighths in heights:
            filled = min(max(eighths - row * 8, 0), 8)
            glyph = FULL if filled == 8 else EIGHTHS_TALL[filled]
            line += glyph * (cell - gap) + " " * gap
        lines.append(line[:width])
    return lines


def _bin_cells(bins: int, width: int) -> tuple[int, int]:
    """Cells per bin, and how many of them are a gap (once bins are wide enough to spare
    one)."""
    cell = max(width // bins, 1)
    return cell, 1 if cell >= 3 else 0


class ColumnChart(Widget):
    """A chart redrawn to its widget's size on every render."""

    DEFAULT_CSS = """
    ColumnChart { height: 1fr; width: 1fr; padding: 0 1; }
    """

    def __init__(self, empty_text: str = "", id: str | None = None) -> None:
        super().__init__(id=id)
        self.chart: Chart | None = None
        self.empty_text = empty_text

    def show(self, chart: Chart | None) -> None:
        self.chart = chart
        self.refresh()

    def render(self) -> RenderResult:
        chart = self.chart
        width, height = self.content_region.width, self.content_region.height
        if chart is None:
            return Text(self.empty_text, style="dim")
        text = Text(chart.title, style="bold")
        if chart.kind == "top":
            text.append("\n" + "\n".join(_top_lines(chart, width)))
            return text
        for line in vbars(chart.counts, width, max(height - 2, 1)):
            text.append("\n" + line, style="cyan")
        cell, gap = _bin_cells(len(chart.counts), width)
        text.append("\n" + _axis(chart.labels, min(len(chart.counts) * cell - gap, width)))
        return text


def _axis(labels: tuple[str, ...], width: int) -> str:
    """The first label at the left, the last at the right, the middle one centred if it
    fits between them."""
    first, middle, last = labels
    width = max(width, len(first) + len(last) + 1)
    line = first.ljust(width - len(last)) + last
    centre = (width - len(middle)) // 2
    if centre > len(first) and centre + len(middle) < width - len(last):
        line = line[:centre] + middle + line[centre + len(middle):]
    return line


def _top_lines(chart: Chart, width: int) -> list[str]:
    """One labelled horizontal bar per value, most frequent first."""
    if not chart.counts:
        return []
    label_width = min(max(len(label) for label in chart.labels), max(width // 3, 4))
    numbers = [f"{count:,.0f}" for count in chart.counts]
    number_width = max(len(n) for n in numbers)
    bar_width = max(width - label_width - number_width - 2, 1)
    top = max(chart.counts)
    return [f"{label[:label_width]:<{label_width}} {hbar(count, top, bar_width):<{bar_width}}"
            f" {number:>{number_width}}"
            for label, count, number in zip(chart.labels, chart.counts, numbers, strict=True)]
