from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from flows.core.reports import charts

SVG = "{http://www.w3.org/2000/svg}"
TITLE = 'Income < 10k & "rich" at $5 $'
RNG = np.random.default_rng(0)
CORRELATIONS = np.asarray(np.corrcoef(RNG.normal(size=(4, 40))))
CORRELATIONS[0, 1] = CORRELATIONS[1, 0] = np.nan
MISSING = RNG.random((50, 2)) < 0.3

CHARTS: dict[str, Callable[[str], str]] = {
    "histogram": lambda t: charts.histogram([0.0, 1.0, 2.0, 3.0], [4, 0, 2], t, "income"),
    "bars": lambda t: charts.bars(["a", "b"], [0.3, 0.1], t, value_label="gain"),
    "vertical bars": lambda t: charts.bars(["a", "b"], [0.3, 0.1], t, horizontal=False),
    "heatmap": lambda t: charts.heatmap(list("wxyz"), CORRELATIONS, t),
    "missing_matrix": lambda t: charts.missing_matrix(["age", "income"], MISSING, t),
    "lines": lambda t: charts.lines({"model": ([0, 0.2, 1], [0, 0.7, 1])}, t, "fpr", "tpr",
                                    diagonal=True),
    "confusion_matrix": lambda t: charts.confusion_matrix(["no", "yes"], [[5, 1], [2, 7]], t),
    "scatter": lambda t: charts.scatter([1, 2, 3], [0.5, -0.2, 0.1], t, "predicted",
                                        "residual", horizontal_line=0),
    "steps": lambda t: charts.steps([1, 3], [0.6, 0.8], t, "seconds", "AUROC",
                                    points_x=[1, 2, 3], points_y=[0.6, 0.5, 0.8]),
}

EMPTY: dict[str, Callable[[], str]] = {
    "histogram": lambda: charts.histogram([], [], "t"),
    "bars": lambda: charts.bars([], [], "t"),
    "heatmap": lambda: charts.heatmap([], [], "t"),
    "missing_matrix": lambda: charts.missing_matrix([], np.zeros((0, 0), dtype=bool), "t"),
    "lines": lambda: charts.lines({"model": ([], [])}, "t", "x", "y"),
    "confusion_matrix": lambda: charts.confusion_matrix([], [], "t"),
    "scatter": lambda: charts.scatter([], [], "t", "x", "y"),
    "steps": lambda: charts.steps([], [], "t", "x", "y"),
}


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return {name: draw(TITLE) for name, draw in CHARTS.items()}


def texts(svg: str) -> list[str]:
    return [element.text or "" for element in ET.fromstring(svg).iter(f"{SVG}text")]


def count(svg: str, prefix: str) -> int:
    return svg.count(f'id="{prefix}_')


@pytest.mark.parametrize("name", CHARTS)
def test_every_chart_is_a_titled_well_formed_inline_svg(rendered: dict[str, str],
                                                        name: str) -> None:
    svg = rendered[name]
    assert svg.startswith("<svg")
    assert 'class="chart"' in svg
    assert "<title>Income &lt; 10k &amp; \"rich\" at $5 $</title>" in svg
    root = ET.fromstring(svg)  # well-formed, so the escaping held
    assert root.get("class") == "chart"
    assert root.findtext(f"{SVG}title") == TITLE
    assert TITLE in texts(svg)  # shown as typed: no mathtext for the dollar signs
    assert "<?xml" not in svg and "DOCTYPE" not in svg and "metadata" not in svg


@pytest.mark.parametrize("name", EMPTY)
def test_empty_input_says_no_data(name: str) -> None:
    svg = EMPTY[name]()
    assert svg.startswith("<svg")
    assert "no data" in texts(svg)
    assert len(svg) < 5_000


def test_histogram_draws_one_bar_per_bin() -> None:
    counts, edges = np.histogram(RNG.normal(size=5_000), bins=50)
    svg = charts.histogram(edges, counts, "Income", "income")
    assert count(svg, "bar") == 50
    assert len(svg.encode()) < 30_000


def test_histogram_rejects_edges_that_do_not_bound_the_counts() -> None:
    with pytest.raises(ValueError, match="4 edges"):
        charts.histogram([0, 1, 2], [1, 2, 3], "t")


def test_bars_truncate_long_labels_keep_order_and_stop_at_the_limit() -> None:
    long = "a_very_long_feature_name_that_goes_on_and_on"
    labels = [long] + [f"f{i}" for i in range(1, 40)]
    svg = charts.bars(labels, list(range(40, 0, -1)), "Importance")
    shown = texts(svg)
    assert long[:charts.MAX_LABEL - 1] + "…" in shown
    assert long not in shown
    assert count(svg, "bar") == charts.MAX_BARS
    assert "f29" in shown and "f30" not in shown
    root = ET.fromstring(svg)
    heights = {e.text: float(e.get("y", "0")) for e in root.iter(f"{SVG}text")}
    assert heights["f1"] < heights["f2"] < heights["f29"]  # first bar on top


def test_heatmap_annotates_small_matrices_only_and_leaves_nan_blank(
        rendered: dict[str, str]) -> None:
    shown = texts(rendered["heatmap"])
    finite = CORRELATIONS[np.isfinite(CORRELATIONS)]
    assert len(finite) == 14
    assert {f"{value:.2f}" for value in finite} <= set(shown)
    assert "nan" not in shown
    labels = [f"c{i}" for i in range(30)]
    big = charts.heatmap(labels, np.asarray(np.corrcoef(RNG.normal(size=(30, 60)))).tolist(),
                         "Big")
    numbers = [t for t in texts(big) if re.fullmatch(r"[-−]?\d\.\d\d", t)]
    assert len(numbers) <= 9  # the colour bar's ticks, none of the 900 cells
    assert len(big.encode()) < 200_000


def test_confusion_matrix_writes_the_counts(rendered: dict[str, str]) -> None:
    shown = texts(rendered["confusion_matrix"])
    assert {"5", "1", "2", "7", "predicted", "true"} <= set(shown)


def test_scatter_samples_large_inputs_deterministically() -> None:
    x = RNG.normal(size=100_000)
    y = x + RNG.normal(size=x.size)
    svg = charts.scatter(x, y, "Residuals", "predicted", "residual", horizontal_line=0)
    assert charts.MAX_POINTS <= svg.count("<use") < charts.MAX_POINTS + 50  # ticks use it too
    assert len(svg.encode()) < 300_000
    assert svg == charts.scatter(x, y, "Residuals", "predicted", "residual", horizontal_line=0)


def test_charts_are_deterministic_and_safe_to_draw_from_threads(
        rendered: dict[str, str]) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda draw: draw(TITLE), CHARTS.values()))
    assert threaded == list(rendered.values())


def test_importing_the_module_does_not_import_matplotlib() -> None:
    code = "import sys, flows.core.reports.charts; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
