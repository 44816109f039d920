"""The Resources screen: a run's stages as the catalog recorded them, each stage's history
across runs as sparklines, and two marked runs compared stage by stage."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Sparkline, Static, TabbedContent

from flows.core.config import Settings
from flows.core.store.catalog import Catalog
from tests.tui.conftest import fixed_app, press, settle
from tui.app import AutopipeApp
from tui.reads.resources import TOTAL, compare, stage_history
from tui.screens._bars import hbar
from tui.screens.resources import ResourcesScreen


async def open_resources(app: AutopipeApp, pilot: Pilot[None]) -> ResourcesScreen:
    await settle(app)
    await pilot.press("2")
    await settle(app)
    screen = app.screen
    assert isinstance(screen, ResourcesScreen)
    return screen


def column(table: DataTable[Any], index: int) -> list[str]:
    return [str(table.get_row_at(i)[index]) for i in range(table.row_count)]


def test_stages_and_history_are_the_catalogs(tui_home: dict[str, Any]) -> None:
    catalog = Catalog(tui_home["settings"].catalog_path)
    runs = catalog.list_runs()
    recorded = {run_id: catalog.stage_resources(run_id).to_dicts() for run_id in runs["run_id"]}

    async def scenario() -> None:
        app = AutopipeApp(tui_home["settings"])
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_resources(app, pilot)
            run_id = screen.highlighted_key()
            assert run_id == runs["run_id"][0]
            stages = recorded[run_id]
            assert any(s["stage"].startswith("slice ") for s in stages)  # sliced by sex
            table = screen.query_one("#run-stages", DataTable)
            assert column(table, 0) == [s["stage"] for s in stages]
            assert column(table, 1) == [f"{s['wall_s']:.2f}" for s in stages]
            assert column(table, 3) == [f"{s['cpu_s']:.2f}" for s in stages]
            assert column(table, 5) == [f"{s['peak_rss_mb']:.0f}" for s in stages]
            bars = column(table, 2)  # the slowest stage has the longest bar
            slowest = max(range(len(stages)), key=lambda i: stages[i]["wall_s"])
            assert len(bars[slowest]) == max(len(bar) for bar in bars) > 4

            await pilot.press("t")
            await settle(app)
            assert screen.query_one("#views", TabbedContent).active == "history"
            walls = {s.name: s for s in screen.query("Sparkline.wall").results(Sparkline)}
            assert set(walls) == {s["stage"] for rows in recorded.values() for s in rows}
            for name, sparkline in walls.items():
                having = [rows for rows in recorded.values()
                          if any(s["stage"] == name for s in rows)]
                assert sparkline.data is not None and len(sparkline.data) == len(having)

    asyncio.run(scenario())



def test_two_marked_runs_compare_stage_by_stage(tmp_path: Path) -> None:
    app = fixed_app(tmp_path)
    catalog = app.catalog
    runs = catalog.list_runs()["run_id"].to_list()
    assert len(runs) == 3
    first, second = (catalog.stage_resources(r).to_dicts() for r in runs[:2])

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_resources(app, pilot)
            await pilot.press("c")  # nothing marked: a hint, no comparison
            await settle(app)
            assert screen.query_one("#comparison", DataTable).row_count == 0
            await pilot.press("space", "down", "space", "c")
            await settle(app)
            assert screen.marks == runs[:2]
            runs_table = screen.query_one("#table", DataTable)
            assert column(runs_table, 0)[:3] == ["A", "B", ""]
            assert screen.query_one("#views", TabbedContent).active == "compare"
            table = screen.query_one("#comparison", DataTable)
            shown = {str(table.get_row_at(i)[0]): [str(c) for c in table.get_row_at(i)]
                     for i in range(table.row_count)}
            a = {s["stage"]: s for s in first}
            b = {s["stage"]: s for s in second}
            assert set(shown) == set(a) | set(b) | {TOTAL}
            for stage in set(a) & set(b):
                assert shown[stage][1:4] == [
                    f"{a[stage]['wall_s']:.2f}", f"{b[stage]['wall_s']:.2f}",
                    f"{b[stage]['wall_s'] - a[stage]['wall_s']:+.2f}"]
                assert shown[stage][7:10] == [
                    f"{a[stage]['peak_rss_mb']:.0f}", f"{b[stage]['peak_rss_mb']:.0f}",
                    f"{b[stage]['peak_rss_mb'] - a[stage]['peak_rss_mb']:+.0f}"]
            for stage in set(a) ^ set(b):  # a stage only one run had: no difference
                assert "absent" in shown[stage] and shown[stage][3] == "–"
            total = sum(s["wall_s"] for s in second) - sum(s["wall_s"] for s in first)
            assert shown[TOTAL][3] == f"{total:+.2f}"

            await pilot.press("escape")
            await settle(app)
            assert screen.marks == [] and column(runs_table, 0)[:3] == ["", "", ""]

    asyncio.run(scenario())


def test_no_runs_says_how_to_start(tmp_path: Path) -> None:
    async def scenario() -> None:
        app = AutopipeApp(Settings(home=tmp_path / "empty"))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_resources(app, pilot)
            empty = screen.query_one("#empty", Static)
            assert empty.display and "autopipe run PATH" in str(empty.render())
            assert not screen.query_one("#views").display

    asyncio.run(scenario())


def test_history_and_comparison_take_missing_stages_in_their_stride() -> None:
    def stage(name: str, wall: float, peak: float = 100.0) -> dict[str, Any]:
        return {"stage": name, "wall_s": wall, "cpu_s": wall, "peak_rss_mb": peak}

    runs = [{"run_id": "new", "started_at": datetime(2026, 1, 2)},
            {"run_id": "old", "started_at": datetime(2026, 1, 1)}]
    stages = {"old": [stage("ingest", 1), stage("report", 2)],
              "new": [stage("ingest", 3), stage("slice female", 4, 300)]}
    history = {h.stage: h for h in stage_history(runs, stages)}
    assert list(history) == ["ingest", "slice female", "report"]  # newest run's order first
    assert history["ingest"].wall_s == (1, 3) and history["ingest"].run_ids == ("old", "new")
    assert history["report"].wall_s == (2,) and history["slice female"].peak_rss_mb == (300,)

    rows = {r.stage: r for r in compare(stages["old"], stages["new"])}
    assert rows["ingest"].difference("wall_s") == 2
    assert rows["report"].second is None and rows["report"].difference("wall_s") is None
    assert rows["slice female"].first is None
    assert rows[TOTAL].difference("wall_s") == 4 and rows[TOTAL].difference("peak_rss_mb") == 200


def test_bars_fill_to_the_eighth() -> None:
    assert hbar(1, 1, 4) == "████"
    assert hbar(0.5, 1, 3) == "█▌"
    assert hbar(None, 1, 4) == hbar(1, 0, 4) == ""


async def to_resources(pilot: Pilot[None]) -> None:
    assert isinstance(pilot.app, AutopipeApp)
    await open_resources(pilot.app, pilot)


async def to_comparison(pilot: Pilot[None]) -> None:
    await to_resources(pilot)
    await press(pilot, "space", "down", "down", "space", "c")


async def to_history(pilot: Pilot[None]) -> None:
    await to_resources(pilot)
    await press(pilot, "t")


def test_snapshot_resources_80x24(snap_compare: Any, tmp_path: Path) -> None:
    """The runs and the newest run's stages as bars in a small terminal."""
    assert snap_compare(fixed_app(tmp_path), terminal_size=(80, 24), run_before=to_resources)


def test_snapshot_resources_120x40(snap_compare: Any, tmp_path: Path) -> None:
    """The runs and the newest run's stages as bars in a large terminal."""
    assert snap_compare(fixed_app(tmp_path), terminal_size=(120, 40), run_before=to_resources)


def test_snapshot_resources_history_120x40(snap_compare: Any, tmp_path: Path) -> None:
    """Every stage's wall time and peak memory across the three runs."""
    assert snap_compare(fixed_app(tmp_path), terminal_size=(120, 40), run_before=to_history)


def test_snapshot_resources_comparison_80x24(snap_compare: Any, tmp_path: Path) -> None:
    """The first and the third run compared stage by stage in a small terminal."""
    assert snap_compare(fixed_app(tmp_path), terminal_size=(80, 24), run_before=to_comparison)
