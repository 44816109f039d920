"""The Runs screen and starting a run from the UI, driven by Textual's Pilot: against the
catalog of a real run (``tui_home``), a home of its own for a run started from the modal, and
the fixed home for snapshots."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Label, Select, Static

from flows.core.config import Settings
from flows.core.live_runs import LiveBest, LiveState
from flows.core.store.catalog import Catalog
from flows.core.types import LOWER_IS_BETTER
from tests.conftest import SAMPLES
from tests.tui.conftest import fixed_app, settle
from tui.app import AutopipeApp
from tui.reads.runs import live_rows, merge_runs
from tui.screens.runs import RunsScreen
from tui.screens.start_run import StartRunModal

HEADERS = ["status", "dataset", "task", "metric", "score", "baseline", "beats", "model", "time",
           "started", "run"]
POLL_WAIT_S = 1.3
"""Longer than the screen's one-second poll of the live files."""
RUN_WAIT_S = 300
"""A penguins run with a 2 s budget takes ~30 s; a machine busy with other work, minutes."""


def rows(app: AutopipeApp) -> list[dict[str, str]]:
    table = app.screen.query_one("#table", DataTable)
    return [dict(zip(HEADERS, (str(c) for c in table.get_row_at(i)), strict=True))
            for i in range(table.row_count)]


def write_live(settings: Settings, run_id: str, **state: Any) -> Path:
    """A live run file as a running flow writes it (this process stands in for the flow)."""
    path = settings.live_dir / f"{run_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "run_id": run_id, "pid": os.getpid(), "status": "running", "stage": "portfolio",
        "best": None, "started_at": datetime.now().isoformat(timespec="seconds"),
        "source": str(SAMPLES / "penguins.csv"), "target": "species", "name": None,
        "budget_s": 60} | state))
    return path


def expected_baseline(catalog: Catalog, run_id: str, metric: str) -> float:
    values = [e["value"] for e in catalog.evaluations(run_id).to_dicts()
              if e["role"].startswith("baseline") and e["metric"] == metric]
    return min(values) if metric in LOWER_IS_BETTER else max(values)


def test_runs_show_the_catalogs_values(tui_home: dict[str, Any]) -> None:
    settings: Settings = tui_home["settings"]
    catalog = Catalog(settings.catalog_path)

    async def scenario() -> None:
        app = AutopipeApp(settings)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app)
            shown = rows(app)
            recorded = catalog.list_runs().to_dicts()
            assert [r["run"] for r in shown] == [r["run_id"] for r in recorded]  # newest first
            run = next(r for r in shown if r["run"] == tui_home["summary"].run_id)
            record = next(r for r in recorded if r["run_id"] == run["run"])
            metric = record["main_metric"]
            baseline = expected_baseline(catalog, record["run_id"], metric)
            better = (record["model_score"] < baseline if metric in LOWER_IS_BETTER
                      else record["model_score"] > baseline)
            assert run == run | {
                "status": "completed", "dataset": "titanic", "task": "binary",
                "model": record["learner"], "metric": metric,
                "score": f"{record['model_score']:.4f}", "baseline": f"{baseline:.4f}",
                "beats": "yes" if better else "no"}
            assert run["time"].endswith("s")
            assert run["started"] == "just now" or run["started"].endswith(" ago")  # < 1 min
            summary = str(app.screen.query_one("#summary", Static).content)
            assert record["model_version"] in summary and "survived" in summary

            if importlib.util.find_spec("tui.screens.run_detail") is not None:
                from tui.screens.run_detail import RunDetailScreen

                table = app.screen.query_one("#table", DataTable)
                table.move_cursor(row=[r["run"] for r in shown].index(run["run"]))
                await pilot.press("enter")
                await settle(app)
                assert isinstance(app.screen, RunDetailScreen)

    asyncio.run(scenario())


def test_live_rows_merge_under_the_recorded_ones() -> None:
    """A live file becomes a row (its duration counts to now while running, to its last
    update once stopped); a run both live and recorded shows once, as recorded."""
    now = datetime(2026, 1, 1, 12, 0, 0)
    states = [
        LiveState(run_id="a", pid=1, status="running", stage="portfolio",
                  started_at=datetime(2026, 1, 1, 11, 59), target="y",
                  source="sqlite:///x.db?table=orders",
                  best=LiveBest(learner="lgbm", metric="rmse", score=3.5, elapsed_s=5.0,
                                budget_s=30)),
        LiveState(run_id="b", pid=1, status="stopped", stage="ingest",
                  started_at=datetime(2026, 1, 1, 11, 0, 0),
                  updated_at=datetime(2026, 1, 1, 11, 0, 7), source="/data/sales.csv.gz",
                  target="y"),
        LiveState(run_id="c", pid=1, status="running", stage="register", name="sold",
                  started_at=datetime(2026, 1, 1, 11, 58), source="/data/sales.csv",
                  target="y")]
    live = live_rows(states, now)
    assert [(r["dataset"], r["duration_s"], r["model_score"]) for r in live] == [
        ("orders", 60.0, 3.5), ("sales", 7.0, None), ("sold", 120.0, None)]
    recorded = [{"run_id": "c", "live": False}, {"run_id": "old", "live": False}]
    assert [(r["run_id"], r["live"]) for r in merge_runs(recorded, live)] == [
        ("a", True), ("b", True), ("c", False), ("old", False)]


def test_a_live_run_appears_updates_and_goes(tui_home: dict[str, Any]) -> None:
    """A run in progress (its live file) shows on top with its stage and best score so far,
    follows the file as it changes, narrows under a filter, and leaves when the file does."""
    settings: Settings = tui_home["settings"]
    recorded = len(Catalog(settings.catalog_path).list_runs())

    async def scenario() -> None:
        app = AutopipeApp(settings)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app)
            assert len(rows(app)) == recorded
            live = write_live(settings, "live0test001", stage="baseline")
            try:
                await pilot.pause(POLL_WAIT_S)
                await settle(app)
                top = rows(app)[0]
                assert (top["run"], top["status"], top["dataset"], top["score"]) == (
                    "live0test001", "running · baseline", "penguins", "–")

                write_live(settings, "live0test001", best={
                    "learner": "lgbm", "metric": "log_loss", "score": 0.2345,
                    "elapsed_s": 4.0, "budget_s": 60})
                await pilot.pause(POLL_WAIT_S)
                await settle(app)
                top = rows(app)[0]
                assert (top["status"], top["model"], top["metric"], top["score"]) == (
                    "running · portfolio", "lgbm", "log_loss", "0.2345")
                await pilot.press("ctrl+home")  # the cursor stayed on its row; the new is above
                summary = str(app.screen.query_one("#summary", Static).content)
                assert "running: portfolio, 4 of 60 s" in summary
                assert "best log_loss 0.2345" in summary

                await pilot.press("slash", *"penguins", "enter")  # enter ends the filter
                assert [r["run"] for r in rows(app)] == ["live0test001"]
                assert isinstance(app.focused, DataTable)
                await pilot.press("escape")
                assert len(rows(app)) == recorded + 1
                await pilot.press("enter")  # not recorded yet: no detail, a word instead
                assert isinstance(app.screen, RunsScreen)
            finally:
                live.unlink()
            await pilot.pause(POLL_WAIT_S)
            await settle(app)
            assert "live0test001" not in {r["run"] for r in rows(app)}
            assert len(rows(app)) == recorded

    asyncio.run(scenario())


def test_empty_catalog_says_how_to_start(tmp_path: Path) -> None:
    async def scenario() -> None:
        app = AutopipeApp(Settings(home=tmp_path / "empty"))
        async with app.run_test(size=(80, 24)):
            await settle(app)
            empty = app.screen.query_one("#empty", Static)
            assert empty.display
            assert "autopipe run PATH --target COLUMN" in str(empty.content)
            assert "n to start" in str(empty.content)
            assert app.screen.query_one("#table", DataTable).row_count == 0
            assert not app.screen.query_one("#summary", Static).display

    asyncio.run(scenario())


def test_filter_and_sort(tmp_path: Path) -> None:
    async def scenario() -> None:
        app = fixed_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app)
            everything = rows(app)
            assert everything[0]["status"].startswith("running")  # the live run on top
            await pilot.press("slash", *"titanic completed")
            narrowed = rows(app)
            assert len(narrowed) == 2 < len(everything)
            assert all(r["dataset"] == "titanic" for r in narrowed)
            await pilot.press("escape")
            assert len(rows(app)) == len(everything)

            await pilot.press("s", "s")  # by status, then by dataset
            datasets = [r["dataset"] for r in rows(app)]
            assert datasets == sorted(datasets)
            await pilot.press(*"s" * (HEADERS.index("score") - 1))
            scores = [r["score"] for r in rows(app)]
            assert scores == sorted(scores)

    asyncio.run(scenario())


async def until(condition: Callable[[], bool], pilot: Pilot[None], timeout_s: float,
                between: Callable[[], Awaitable[None]] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.5)
        if between is not None:
            await between()


def test_the_modal_explains_what_stops_a_start(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")

    async def scenario() -> None:
        app = AutopipeApp(settings)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app)
            await pilot.press("n")
            assert isinstance(app.screen, StartRunModal)
            app.screen.query_one("#source", Input).value = str(tmp_path / "missing.csv")
            problem = app.screen.query_one("#problem", Label)
            await until(lambda: bool(problem.display), pilot, 5)
            assert str(problem.content) == f"file not found: {tmp_path / 'missing.csv'}"
            assert app.screen.query_one("#target", Select).disabled
            await pilot.press("enter")
            assert isinstance(app.screen, StartRunModal)  # refused, and said why
            assert not settings.logs_dir.exists()
            await pilot.press("escape")
            assert isinstance(app.screen, RunsScreen)

    asyncio.run(scenario())


@pytest.mark.slow
def test_a_run_started_from_the_modal_trains_and_is_listed(
        prefect_api: str, tmp_path: Path) -> None:
    """The modal starts ``autopipe run`` in the background against this home (the session's
    Prefect server is in the environment it passes on); the run reaches the catalog and the
    list, and the app says when the process ended."""
    settings = Settings(home=tmp_path / "home")
    catalog = Catalog(settings.catalog_path)

    async def scenario() -> None:
        app = AutopipeApp(settings)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app)
            await pilot.press("n")
            modal = app.screen
            modal.query_one("#source", Input).value = str(SAMPLES / "penguins.csv")
            target = modal.query_one("#target", Select)
            await until(lambda: not target.disabled, pilot, 10)
            target.value = "species"
            budget = modal.query_one("#budget", Input)
            assert budget.value == "30"
            budget.value = "2"
            await pilot.click("#start")
            assert isinstance(app.screen, RunsScreen)  # the UI is free at once

            def notified() -> list[str]:
                return [str(n.message) for n in app._notifications]

            seen: set[str] = set()

            async def watch_list() -> None:
                seen.update(r["status"] for r in rows(app))

            await until(lambda: any("finished" in m for m in notified()), pilot, RUN_WAIT_S,
                        between=watch_list)
            assert any(status.startswith("running · ") for status in seen)  # its live file
            await pilot.pause(POLL_WAIT_S)
            await settle(app)
            [run] = catalog.list_runs().to_dicts()
            assert (run["dataset"], run["target"], run["budget_s"]) == ("penguins", "species",
                                                                        2.0)
            assert f"run {run['run_id']} finished" in " ".join(notified())
            [shown] = rows(app)
            assert (shown["run"], shown["status"], shown["task"]) == (
                run["run_id"], "completed", "multiclass")
            [log] = settings.logs_dir.glob("run-*.log")
            assert run["run_id"] in log.read_text()

    try:
        asyncio.run(scenario())
    finally:
        stop_started_runs(settings)


def stop_started_runs(settings: Settings) -> None:
    """A run the test started and left running (it failed or timed out) is stopped by the
    pid in its live file: SIGTERM, then SIGKILL (a flow may outlive its first SIGTERM)."""
    from flows.core.live_runs import live_runs

    running = [psutil.Process(s.pid) for s in live_runs(settings.live_dir)
               if s.status == "running"]
    for process in running:
        process.terminate()
    for process in psutil.wait_procs(running, timeout=10)[1]:
        process.kill()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_runs_screen_snapshot(snap_compare: Any, tmp_path: Path, size: tuple[int, int]
                              ) -> None:
    """The runs of the fixed home, the live one on top."""

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot.app)  # type: ignore[arg-type]

    assert snap_compare(fixed_app(tmp_path), terminal_size=size, run_before=run_before)


def test_x_clears_a_stopped_run_and_what_it_had_written(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    dead = psutil.Popen(["true"])
    dead.wait()
    leftover = settings.models_dir / "penguins-dead"
    leftover.mkdir(parents=True)
    (leftover / "model.joblib").write_text("half a model")
    live = write_live(settings, "dead00000001", pid=dead.pid, created=[str(leftover)])

    async def scenario() -> None:
        app = AutopipeApp(settings)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app)
            assert [r["status"] for r in rows(app)] == ["stopped · portfolio"]
            assert app.screen.check_action("clear_stopped", ())
            await pilot.press("x")
            await settle(app)
            assert rows(app) == []
            assert not app.screen.check_action("clear_stopped", ())

    asyncio.run(scenario())
    assert not live.exists() and not leftover.exists() and settings.models_dir.exists()


def test_a_background_run_that_fails_is_reported_with_its_error_and_hint(
        tmp_path: Path) -> None:
    """What the run wrote to its outcome file reaches the notification, not its log text."""
    from tui.screens.start_run import launch, outcome_path

    settings = Settings(home=tmp_path / "home")

    async def scenario() -> None:
        app = AutopipeApp(settings)
        async with app.run_test(size=(120, 40)) as pilot:
            run = launch(settings, str(tmp_path / "nope.csv"), "y", "5")
            run.watch(app)

            def notified() -> str:
                return " ".join(str(n.message) for n in app._notifications)

            await until(lambda: "failed" in notified(), pilot, 120)
            assert "failed (exit 2)" in notified() and "file not found" in notified()
            assert outcome_path(run.log_path).exists()

    asyncio.run(scenario())
