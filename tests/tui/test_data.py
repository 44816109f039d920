"""The Data screen: dataset versions as the catalog has them, a version's analysis with its
alerts, and the highlighted column's distribution."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Static, TabbedContent

from flows.core.config import Settings
from flows.core.store.catalog import Catalog
from flows.core.types import DatasetRef
from tests.tui.conftest import fixed_app, settle
from tui.app import AutopipeApp
from tui.reads.data import column_chart, facts
from tui.screens._bars import ColumnChart, vbars
from tui.screens.data import DataScreen


async def open_data(app: AutopipeApp, pilot: Pilot[None]) -> DataScreen:
    await settle(app)
    await pilot.press("3")
    await settle(app)
    screen = app.screen
    assert isinstance(screen, DataScreen)
    return screen


def cells(table: DataTable[Any], index: int) -> list[str]:
    return [str(c) for c in table.get_row_at(index)]


async def highlight_column(app: AutopipeApp, pilot: Pilot[None], screen: DataScreen,
                           name: str) -> None:
    """Walk down the column list (as a person would) until ``name`` is highlighted."""
    table = screen.query_one("#column-table", DataTable)
    while str(table.get_row_at(table.cursor_row)[0]) != name:
        await pilot.press("down")
    await settle(app)


def test_versions_analysis_alerts_and_a_histogram(tui_home: dict[str, Any]) -> None:
    catalog = Catalog(tui_home["settings"].catalog_path)
    versions = catalog.datasets()
    newest = versions.row(0, named=True)
    profile = catalog.profile(newest["content_hash"])
    assert profile is not None and profile["alerts"]

    async def scenario() -> None:
        app = AutopipeApp(tui_home["settings"])
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_data(app, pilot)
            table = screen.query_one("#table", DataTable)
            assert table.row_count == versions.height
            for i, version in enumerate(versions.iter_rows(named=True)):
                shown = cells(table, i)
                assert shown[:4] == [version["name"], version["content_hash"][:12],
                                     str(version["rows"]), str(version["columns"])]

            facts_text = str(screen.query_one("#facts", Static).render())
            assert facts(profile)[0] in facts_text
            alerts = screen.query_one("#alert-table", DataTable)
            assert [cells(alerts, i)[:3] for i in range(alerts.row_count)] == [
                [a["severity"], a["kind"], a["column"] or ""] for a in profile["alerts"]]

            await pilot.press("c")
            await settle(app)
            assert screen.query_one("#views", TabbedContent).active == "columns"
            await highlight_column(app, pilot, screen, "fare")
            chart = screen.query_one("#chart", ColumnChart).chart
            assert chart is not None and chart.kind == "histogram"
            assert list(chart.counts) == profile["columns"]["fare"]["histogram"]["counts"]
            assert sum(chart.counts) == newest["rows"]  # no fare is missing
            await highlight_column(app, pilot, screen, "embarked")
            chart = screen.query_one("#chart", ColumnChart).chart
            assert chart is not None and chart.kind == "top"
            assert list(chart.labels) == [t["value"] for t in
                                          profile["columns"]["embarked"]["top"]]

    asyncio.run(scenario())


def test_a_version_without_analysis_says_how_to_make_one(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    Catalog(settings.catalog_path).save_dataset(DatasetRef(
        name="prices", content_hash="ab" * 32, snapshot_path=tmp_path / "prices.parquet",
        source="data/prices.csv", rows=10, columns=3, created_at=datetime(2026, 1, 1)))

    async def scenario() -> None:
        app = AutopipeApp(settings)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_data(app, pilot)
            assert "autopipe profile data/prices.csv" in str(
                screen.query_one("#facts", Static).render())
            assert not screen.query_one("#views").display
            await pilot.press("c")  # nothing to open: no error
            await settle(app)

    asyncio.run(scenario())


def test_no_datasets_says_how_to_start(tmp_path: Path) -> None:
    async def scenario() -> None:
        app = AutopipeApp(Settings(home=tmp_path / "empty"))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_data(app, pilot)
            empty = screen.query_one("#empty", Static)
            assert empty.display and "autopipe profile PATH" in str(empty.render())
            assert not screen.query_one("#analysis").display

    asyncio.run(scenario())


def test_charts_of_numbers_dates_and_categories() -> None:
    number = {"name": "age", "kind": "numeric",
              "histogram": {"edges": [0.0, 10.0, 20.0], "counts": [3, 1]}}
    chart = column_chart(number)
    assert chart is not None and chart.counts == (3, 1) and chart.labels == ("0", "10", "20")
    day = 86_400.0
    date = {"name": "day", "kind": "datetime",
            "histogram": {"edges": [0.0, day, 2 * day], "counts": [1, 1]}}
    dates = column_chart(date)
    assert dates is not None and dates.labels == ("1970-01-01", "1970-01-02", "1970-01-03")
    category = {"name": "sex", "kind": "categorical", "distinct": 2,
                "top": [{"value": "m", "count": 5}, {"value": "f", "count": 4}]}
    top = column_chart(category)
    assert top is not None and top.kind == "top" and top.labels == ("m", "f")
    assert column_chart({"name": "x", "kind": "free_text", "top": []}) is None
    assert vbars([2, 1], width=4, height=2) == ["██  ", "████"]
    assert vbars([2, 1], width=4, height=1) == ["██▄▄"]



async def to_titanic(pilot: Pilot[None]) -> DataScreen:
    """The titanic version (the fixed home's older one: penguins raised no alerts)."""
    assert isinstance(pilot.app, AutopipeApp)
    screen = await open_data(pilot.app, pilot)
    await pilot.press("down")
    await settle(pilot.app)
    assert str(screen.query_one("#table", DataTable).get_row_at(1)[0]) == "titanic"
    return screen


async def to_fare(pilot: Pilot[None]) -> None:
    assert isinstance(pilot.app, AutopipeApp)
    screen = await to_titanic(pilot)
    await pilot.press("c")
    await highlight_column(pilot.app, pilot, screen, "fare")


def test_snapshot_data_80x24(snap_compare: Any, tmp_path: Path) -> None:
    """The dataset versions and titanic's analysis and alerts in a small terminal."""
    assert snap_compare(fixed_app(tmp_path), terminal_size=(80, 24), run_before=to_titanic)


def test_snapshot_data_120x40(snap_compare: Any, tmp_path: Path) -> None:
    """Titanic's columns and the fare histogram in a large terminal."""
    assert snap_compare(fixed_app(tmp_path), terminal_size=(120, 40), run_before=to_fare)
