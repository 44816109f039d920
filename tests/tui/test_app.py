"""The runs screen, driven by Textual's Pilot against a catalog filled by real runs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.widgets import DataTable, Static

from flows.core.config import Settings
from tui.app import AutopipeApp


async def settle(app: AutopipeApp) -> None:
    """Let the thread workers finish and their results reach the widgets."""
    for _ in range(3):
        await app.workers.wait_for_complete()
        await asyncio.sleep(0.05)


def test_runs_screen_shows_runs_metrics_and_resources(
        trained: dict[str, dict[str, Any]]) -> None:
    async def scenario() -> None:
        app = AutopipeApp(Settings())
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app)
            runs = app.screen.query_one("#runs", DataTable)
            listed = {str(runs.get_row_at(i)[0]) for i in range(runs.row_count)}
            assert {s["run_id"] for s in trained.values()} <= listed
            # Newest run first: the regression run was trained last.
            assert runs.get_row_at(0)[0] == trained["regression"]["run_id"]
            metrics = app.screen.query_one("#metrics", DataTable)
            labels = [str(metrics.get_row_at(i)[0]) for i in range(metrics.row_count)]
            assert "▶ rmse" in labels and "r2" in labels
            model_rmse = next(metrics.get_row_at(i)[1] for i in range(metrics.row_count)
                              if str(metrics.get_row_at(i)[0]) == "▶ rmse")
            assert float(model_rmse) == round(trained["regression"]["metrics"]["rmse"], 4)
            resources = app.screen.query_one("#resources", DataTable)
            assert [resources.get_row_at(i)[0] for i in range(resources.row_count)] == [
                "ingest", "profile", "prepare", "baseline", "search", "candidates", "integrate",
                "evaluate", "explain", "refit", "register"]

            await pilot.press("down")  # the next run's detail replaces the first one's
            await settle(app)
            second = runs.get_row_at(runs.cursor_row)[0]
            task = next(t for t, s in trained.items() if s["run_id"] == second)
            labels = [str(metrics.get_row_at(i)[0]) for i in range(metrics.row_count)]
            assert ("▶ log_loss" if task == "multiclass" else "▶ roc_auc") in labels
            await pilot.press("q")
        assert app.return_code == 0

    asyncio.run(scenario())


def test_empty_catalog_says_how_to_start(tmp_path: Path) -> None:
    async def scenario() -> None:
        app = AutopipeApp(Settings(home=tmp_path / "empty"))
        async with app.run_test(size=(80, 24)):
            await settle(app)
            empty = app.screen.query_one("#empty", Static)
            assert empty.display
            assert "autopipe run PATH --target COLUMN" in str(empty.content)
            assert app.screen.query_one("#runs", DataTable).row_count == 0
            assert not app.screen.query_one("#detail").display

    asyncio.run(scenario())
