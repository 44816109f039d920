"""The run detail screen: what it shows equals what the catalog and the model's artifact
hold, ``o`` opens the run's report (writing it first when it is missing), and the chart
series are computed right for every task (regression from a tiny frame: no training)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static, TabbedContent
from textual_plotext import PlotextPlot

import tui.screens.run_detail as run_detail
from flows.core.registry import artifacts as registry
from flows.core.reports.files import run_report_path
from flows.core.store.catalog import Catalog
from tests.tui.conftest import fixed_app, settle
from tests.tui.fixture.home import FIXTURE, build_fixture_home
from tui.app import AutopipeApp
from tui.charts import BarChart
from tui.reads.run_detail import charts, load_run_detail
from tui.screens.run_detail import RunDetailScreen
from tui.widgets import fmt

needs_fixture = pytest.mark.skipif(not FIXTURE.exists(),
                                   reason="the fixed home is not recorded yet")


def rows(table: DataTable[Any]) -> dict[str, list[str]]:
    """A table's rows by key, each cell as the text it shows."""
    return {str(key.value): [str(cell) for cell in table.get_row(key)]
            for key in table.rows}


async def open_detail(app: AutopipeApp, run_id: str) -> RunDetailScreen:
    await settle(app)
    screen = RunDetailScreen(run_id)
    await app.push_screen(screen)
    await settle(app)
    return screen


def record_opened(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Replace the browser: the paths the screen asked to open."""
    opened: list[Path] = []

    def open_report(path: Path) -> bool:
        opened.append(path)
        return True

    monkeypatch.setattr(run_detail, "open_report", open_report)
    return opened


def test_detail_shows_the_run_as_stored(tui_home: dict[str, Any],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = tui_home["settings"]
    run_id = tui_home["summary"].run_id
    catalog = Catalog(settings.catalog_path)
    evaluations = catalog.evaluations(run_id)
    artifact = catalog.model(tui_home["summary"].model_version).artifact_path
    card, held_out = registry.read_card(artifact), registry.read_held_out(artifact)
    assert held_out is not None
    report = run_report_path(settings.reports_dir, run_id)
    report.unlink(missing_ok=True)  # the screen writes it again before opening it
    opened = record_opened(monkeypatch)

    async def scenario() -> None:
        app = AutopipeApp(settings)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_detail(app, run_id)
            headline = str(screen.query_one("#headline", Static).render())
            assert run_id in headline and "titanic" in headline

            metrics = rows(screen.query_one("#metrics", DataTable))
            baselines = sorted(set(evaluations["role"]) - {"model"})
            for row in evaluations.iter_rows(named=True):
                column = 1 if row["role"] == "model" else 3 + baselines.index(row["role"])
                main = row["metric"] == tui_home["summary"].main_metric
                assert metrics[row["metric"]][column] == fmt(row["value"])
                assert metrics[row["metric"]][0] == ("▶ " if main else "") + row["metric"]

            learners = rows(screen.query_one("#learners", DataTable))
            assert set(learners) == set(catalog.trials(run_id)["learner"])
            candidates = rows(screen.query_one("#candidates", DataTable))
            assert card.integration is not None
            assert set(card.integration.candidates) <= set(candidates)
            assert [r[-1] for r in candidates.values()].count("chosen") == 1

            await pilot.press("right_square_bracket", "right_square_bracket")
            assert screen.query_one("#tabs", TabbedContent).active == "slices"
            slices = rows(screen.query_one("#slice-table", DataTable))
            assert set(slices) == {"sex=female", "sex=male"}
            for stored in catalog.slice_results(run_id).iter_rows(named=True):
                own = stored["champion_version"] == stored["model_version"]
                assert slices[stored["slice"]][1] == ("own model" if own else "global")

            await pilot.press("right_square_bracket")
            assert screen.query_one("#tabs", TabbedContent).active == "charts"
            assert len(screen.query(PlotextPlot)) == 2
            confusion = rows(screen.query_one("#confusion", DataTable))
            assert set(confusion) == set(held_out["y_true"])
            assert sum(int(c) for r in confusion.values() for c in r[1:]) == held_out.height
            importance = screen.query_one("#importance-chart", BarChart)
            top = sorted(card.permutation_importance.items(), key=lambda kv: -kv[1])
            assert list(importance.labels) == [name for name, _ in top][:len(importance.labels)]
            assert importance.labels

            await pilot.press("o")
            await settle(app)
            assert opened == [report]
            assert report.exists()

            await pilot.press("escape")
            await settle(app)
            assert not isinstance(app.screen, RunDetailScreen)

    asyncio.run(scenario())


def test_read_model_matches_the_catalog(tui_home: dict[str, Any]) -> None:
    settings = tui_home["settings"]
    run_id = tui_home["summary"].run_id
    catalog = Catalog(settings.catalog_path)
    detail = load_run_detail(catalog, run_id)
    run = catalog.list_runs().filter(run_id=run_id).row(0, named=True)
    assert detail.model_score == run["model_score"]
    assert detail.baseline_score == run["baseline_max"]  # roc_auc: higher is better
    trials = catalog.trials(run_id)
    assert sum(learner.trials for learner in detail.learners) == trials.height
    assert detail.charts.best_so_far.y[-1] == trials["val_loss"].min()
    assert list(detail.charts.best_so_far.y) == sorted(detail.charts.best_so_far.y,
                                                       reverse=True)
    assert set(detail.charts.roc) >= {"model"}


def test_charts_for_a_regression_run() -> None:
    """Residuals are actual minus predicted; no ROC curve, no confusion matrix."""
    held_out = pl.DataFrame({"y_true": [10.0, 12.0, 9.0], "model": [11.0, 12.5, 8.0],
                             "baseline_linear": [10.0, 10.0, 10.0]})
    trials = pl.DataFrame({"learner": ["lgbm", "rf", "lgbm"], "val_loss": [3.0, 4.0, 2.0],
                           "trial_time_s": [0.1, 0.2, 0.3], "wall_clock_s": [0.2, 0.1, 0.5]})
    series = charts(trials, held_out, "regression", {"carat": 2.0, "cut": 5.0})
    assert series.residuals is not None
    assert series.residuals.x == (11.0, 12.5, 8.0)
    assert series.residuals.y == (-1.0, -0.5, 1.0)
    assert series.best_so_far.x == (0.1, 0.2, 0.5)
    assert series.best_so_far.y == (4.0, 3.0, 2.0)
    assert not series.roc and not series.confusion
    assert series.importance == (("cut", 5.0), ("carat", 2.0))


def test_charts_for_a_binary_run() -> None:
    held_out = pl.DataFrame({"y_true": ["0", "0", "1", "1"],
                             "model:0": [0.9, 0.4, 0.3, 0.2], "model:1": [0.1, 0.6, 0.7, 0.8],
                             "baseline:0": [0.5] * 4, "baseline:1": [0.5] * 4})
    series = charts(pl.DataFrame(), held_out, "binary", {})
    assert series.classes == ("0", "1")
    assert series.confusion == ((1, 1), (0, 2))
    assert set(series.roc) == {"model", "baseline"}
    assert series.roc["model"].y[-1] == 1.0
    assert series.best_so_far.x == ()


@needs_fixture
def test_report_is_written_when_missing(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A copied home has no reports: ``o`` builds the run's report, then opens it."""
    settings = build_fixture_home(tmp_path)
    run_id = sliced_run(Catalog(settings.catalog_path))
    report = run_report_path(settings.reports_dir, run_id)
    assert not report.exists()
    opened = record_opened(monkeypatch)

    async def scenario() -> None:
        app = AutopipeApp(settings)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_detail(app, run_id)
            await pilot.press("o")
            await settle(app)
            assert opened == [report]
            assert "<html" in report.read_text()[:200].lower()

    asyncio.run(scenario())


@needs_fixture
def test_unknown_run_says_so(tmp_path: Path) -> None:
    async def scenario() -> None:
        app = AutopipeApp(build_fixture_home(tmp_path))
        async with app.run_test(size=(80, 24)):
            screen = await open_detail(app, "nosuchrun")
            assert "no run 'nosuchrun'" in str(screen.query_one("#headline", Static).render())
            assert any(n.severity == "error" for n in app._notifications)

    asyncio.run(scenario())


def sliced_run(catalog: Catalog) -> str:
    """The fixed home's titanic run that was trained per slice."""
    return next(run for run in catalog.list_runs()["run_id"]
                if not catalog.slice_results(run).is_empty())


def fixed_detail_app(tmp_path: Path) -> tuple[AutopipeApp, str]:
    app = fixed_app(tmp_path)
    return app, sliced_run(app.catalog)


@needs_fixture
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("tab", ["summary", "charts"])
def test_run_detail_snapshot(snap_compare: Any, tmp_path: Path, size: tuple[int, int],
                             tab: str) -> None:
    """The sliced titanic run of the fixed home: its summary, and its charts."""
    app, run_id = fixed_detail_app(tmp_path)

    async def run_before(pilot: Pilot[None]) -> None:
        await open_detail(app, run_id)
        if tab == "charts":
            await pilot.press("left_square_bracket")
            await settle(app)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
