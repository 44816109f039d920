"""The Review screen: confirming, correcting and skipping in the UI store the decision (and
a correction becomes a corrected label), and the entry leaves the pending list."""

from __future__ import annotations

import asyncio
import getpass
import json
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, OptionList, Static

from flows.core.config import Settings
from flows.core.store.catalog import Catalog
from tests.tui.conftest import fixed_app, press, settle
from tui.app import AutopipeApp
from tui.modals import ChoiceModal
from tui.screens.review import ReviewScreen


async def open_review(app: AutopipeApp, pilot: Pilot[None]) -> ReviewScreen:
    await pilot.press("6")
    await settle(app)
    screen = app.screen
    assert isinstance(screen, ReviewScreen)
    return screen


def decision_of(catalog: Catalog, key: str) -> dict[str, Any]:
    request_id, idx = key.rsplit(":", 1)
    return catalog.review_queue(pending_only=False).filter(
        request_id=request_id, idx=int(idx)).row(0, named=True)


def test_confirm_and_skip_store_the_decision_and_the_note(tui_home: dict[str, Any]) -> None:
    catalog = Catalog(tui_home["settings"].catalog_path)

    async def scenario() -> None:
        app = AutopipeApp(tui_home["settings"])
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_review(app, pilot)
            table = screen.query_one("#table", DataTable)
            pending = table.row_count
            first = screen.highlighted_key()
            assert first is not None
            entry = screen.shown[first]
            record = screen.query_one("#record", DataTable)
            assert record.row_count == len(entry["record"])
            why = str(screen.query_one("#explanation", Static).render())
            assert why.startswith("why (probability of class") and "base" in why

            await pilot.press("c")
            await settle(app)
            await pilot.press(*"ticket checked", "enter")
            await settle(app)
            stored = decision_of(catalog, first)
            assert (stored["decision"], stored["author"], stored["note"]) == (
                "confirmed", getpass.getuser(), "ticket checked")
            assert json.loads(stored["label"]) == entry["prediction"]
            assert table.row_count == pending - 1 and first not in screen.shown

            second = screen.highlighted_key()
            assert second is not None
            await pilot.press("k")
            await settle(app)
            await pilot.press("enter")  # no note
            await settle(app)
            stored = decision_of(catalog, second)
            assert (stored["decision"], stored["label"], stored["note"]) == (
                "skipped", None, None)
            assert table.row_count == pending - 2

    asyncio.run(scenario())


def test_a_correction_is_stored_as_a_corrected_label(tui_home: dict[str, Any]) -> None:
    catalog = Catalog(tui_home["settings"].catalog_path)

    async def scenario() -> None:
        app = AutopipeApp(tui_home["settings"])
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_review(app, pilot)
            key = screen.highlighted_key()
            assert key is not None
            predicted = screen.shown[key]["prediction"]

            await pilot.press("w")
            await settle(app)
            assert isinstance(app.screen, ChoiceModal)
            choices = app.screen.query_one(OptionList)
            names = [str(choices.get_option_at_index(i).id) for i in range(choices.option_count)]
            choices.highlighted = names.index(str(predicted))  # the prediction is refused
            await pilot.press("enter")
            await settle(app)
            assert isinstance(app.screen, ReviewScreen)
            assert decision_of(catalog, key)["decision"] is None

            await pilot.press("w")
            await settle(app)
            choices = app.screen.query_one(OptionList)
            other = next(n for n in names if n != str(predicted))
            choices.highlighted = names.index(other)
            await pilot.press("enter")
            await settle(app)
            await pilot.press(*"family records", "enter")
            await settle(app)
            stored = decision_of(catalog, key)
            assert (stored["decision"], stored["note"], stored["author"]) == (
                "corrected", "family records", getpass.getuser())
            assert str(json.loads(stored["label"])) == other
            request_id, idx = key.rsplit(":", 1)
            labelled = catalog.labelled_predictions().filter(request_id=request_id,
                                                             idx=int(idx))
            assert labelled.height == 1 and labelled["corrected"][0] is True
            assert key not in screen.shown

    asyncio.run(scenario())


def test_empty_queue_says_how_it_fills(tmp_path: Path) -> None:
    async def scenario() -> None:
        app = AutopipeApp(Settings(home=tmp_path / "empty"))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_review(app, pilot)
            empty = screen.query_one("#empty", Static)
            assert empty.display and "autopipe monitor" in str(empty.render())
            assert not screen.query_one("#review-detail").display

    asyncio.run(scenario())



async def to_review(pilot: Pilot[None]) -> None:
    await press(pilot, "6")


def test_snapshot_review_80x24(snap_compare: Any, tmp_path: Path) -> None:
    """The pending queue, the first entry's record, answer and explanation, small."""
    assert snap_compare(fixed_app(tmp_path), terminal_size=(80, 24), run_before=to_review)


def test_snapshot_review_120x40(snap_compare: Any, tmp_path: Path) -> None:
    """The pending queue, the first entry's record, answer and explanation, large."""
    assert snap_compare(fixed_app(tmp_path), terminal_size=(120, 40), run_before=to_review)
