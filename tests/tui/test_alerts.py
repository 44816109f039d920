"""The Alerts screen: triage in the UI lands in the catalog, the drift chart compares the
training rows with the live ones, and ``v`` opens the alert's review entries."""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path
from typing import Any

import pandas as pd
from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from flows.core.config import Settings
from flows.core.store.catalog import Catalog
from tests.tui.conftest import fixed_app, press, settle
from tui.app import AutopipeApp
from tui.reads.alerts import age_text, distribution
from tui.screens.alerts import AlertsScreen
from tui.screens.review import ReviewScreen


def fare_drift(catalog: Catalog) -> dict[str, Any]:
    return next(a for a in catalog.alerts().to_dicts()
                if a["kind"] == "drift" and a["feature"] == "fare")


def centre(shares: list[float]) -> float:
    """The mean bin index of a distribution."""
    return sum(i * share for i, share in enumerate(shares))


async def open_alert(app: AutopipeApp, pilot: Pilot[None], alert_id: str) -> AlertsScreen:
    await pilot.press("5")
    await settle(app)
    screen = app.screen
    assert isinstance(screen, AlertsScreen)
    table = screen.query_one("#table", DataTable)
    table.move_cursor(row=table.get_row_index(alert_id))
    await settle(app)
    return screen


async def answer(app: AutopipeApp, pilot: Pilot[None], key: str, text: str) -> None:
    """Press ``key``, type ``text`` into the dialog it opens, confirm."""
    await pilot.press(key)
    await settle(app)
    await pilot.press(*text, "enter")
    await settle(app)


def test_triage_in_the_ui_changes_the_alert_in_the_catalog(tui_home: dict[str, Any]) -> None:
    catalog = Catalog(tui_home["settings"].catalog_path)
    alert = fare_drift(catalog)

    async def scenario() -> None:
        app = AutopipeApp(tui_home["settings"])
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_alert(app, pilot, alert["alert_id"])
            table = screen.query_one("#table", DataTable)
            await pilot.press("a")
            await settle(app)
            assert fare_drift(catalog)["status"] == "acknowledged"
            assert str(table.get_row(alert["alert_id"])[3]) == "acknowledged"

            await answer(app, pilot, "g", "ana")
            await answer(app, pilot, "e", "fares x8 upstream")
            stored = fare_drift(catalog)
            assert stored["assignee"] == "ana"
            assert '"fares x8 upstream"' in stored["notes"]
            assert getpass.getuser() in stored["notes"]
            assert "fares x8 upstream" in str(screen.query_one("#alert-text").render())

            await answer(app, pilot, "x", "price feed fixed")
            resolved = next(a for a in catalog.alerts().to_dicts()
                            if a["alert_id"] == alert["alert_id"])
            assert resolved["status"] == "resolved"
            assert "price feed fixed" in resolved["notes"]
            actions = catalog.audit_log().filter(subject=alert["alert_id"])["action"]
            assert {"alert_acknowledged", "alert_resolved"} <= set(actions)

    asyncio.run(scenario())


def test_drift_chart_compares_training_with_live_fares(tui_home: dict[str, Any]) -> None:
    catalog = Catalog(tui_home["settings"].catalog_path)
    alert = fare_drift(catalog)
    live = catalog.logged_traffic().filter(model_version=alert["model_version"],
                                           slice=alert["slice"]).height

    async def scenario() -> None:
        app = AutopipeApp(tui_home["settings"])
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_alert(app, pilot, alert["alert_id"])
            assert screen.query_one("#alert-chart", PlotextPlot).display
            found = screen.charts[alert["alert_id"]]
            assert found is not None and found.feature == "fare" and found.kind == "number"
            assert found.current_rows == live
            assert abs(sum(found.reference) - 1) < 1e-9 and abs(sum(found.current) - 1) < 1e-9
            # Half the live fares were multiplied by 8: the live mass moved up the bins, and
            # the top bins (past the largest training fare) hold live rows only.
            assert centre(found.current) > centre(found.reference) + 0.5
            assert sum(found.reference[-2:]) == 0 < sum(found.current[-2:])

    asyncio.run(scenario())


def test_v_opens_the_review_queue_of_the_alert(tui_home: dict[str, Any]) -> None:
    catalog = Catalog(tui_home["settings"].catalog_path)
    alert = fare_drift(catalog)

    async def scenario() -> None:
        app = AutopipeApp(tui_home["settings"])
        async with app.run_test(size=(120, 40)) as pilot:
            await open_alert(app, pilot, alert["alert_id"])
            await pilot.press("v")
            await settle(app)
            assert app.current_mode == "review"
            screen = app.screen
            assert isinstance(screen, ReviewScreen)
            assert screen.alert_filter == alert["alert_id"]
            pending = catalog.review_queue(pending_only=True).filter(
                alert_id=alert["alert_id"])
            table = screen.query_one("#table", DataTable)
            shown = set(screen.shown)
            assert shown == {f"{r}:{i}" for r, i in zip(pending["request_id"], pending["idx"],
                                                      strict=True)}
            assert shown
            await pilot.press("escape")  # the whole queue again
            await settle(app)
            assert screen.alert_filter is None
            assert table.row_count == catalog.review_queue(pending_only=True).height

    asyncio.run(scenario())


def test_no_alerts_says_how_they_come(tmp_path: Path) -> None:
    async def scenario() -> None:
        app = AutopipeApp(Settings(home=tmp_path / "empty"))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("5")
            await settle(app)
            empty = app.screen.query_one("#empty", Static)
            assert empty.display and "autopipe monitor" in str(empty.render())
            assert not app.screen.query_one("#alert-detail").display

    asyncio.run(scenario())


def test_categories_compare_level_shares_with_missing_apart() -> None:
    reference = pd.Series(["S"] * 6 + ["C"] * 3 + [None], dtype=object)
    live = pd.Series(["S", "Q", "Q", None, None], dtype=object)
    found = distribution("embarked", reference, live)
    assert found.kind == "category"
    shares = dict(zip(found.labels, zip(found.reference, found.current, strict=True),
                      strict=True))
    assert shares["S"] == (0.6, 0.2) and shares["Q"] == (0.0, 0.4)
    assert (found.reference_missing, found.current_missing) == (0.1, 0.4)


def test_ages_read_as_minutes_hours_days() -> None:
    assert [age_text(s) for s in (30, 59 * 60, 3 * 3600, 47 * 3600, 3 * 86400)] == [
        "0m", "59m", "3h", "47h", "3d"]



async def to_alerts(pilot: Pilot[None]) -> None:
    await press(pilot, "5")


def test_snapshot_alerts_80x24(snap_compare: Any, tmp_path: Path) -> None:
    """The alerts, the first one's detail and its chart in a small terminal."""
    assert snap_compare(fixed_app(tmp_path), terminal_size=(80, 24), run_before=to_alerts)


def test_snapshot_alerts_120x40(snap_compare: Any, tmp_path: Path) -> None:
    """The alerts, the first one's detail and its chart in a large terminal."""
    assert snap_compare(fixed_app(tmp_path), terminal_size=(120, 40), run_before=to_alerts)
