"""The Models screen: promoting and rolling back in the UI moves the champion in the catalog,
writes the audit log and the release file (through the same gate as ``autopipe promote``);
the card pane shows the highlighted version's model card; a cancelled reason changes
nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import polars as pl
from textual.pilot import Pilot
from textual.widgets import DataTable, Markdown, Static

from flows.core.config import Settings
from flows.core.registry.release import read_release, release_path
from flows.core.store.catalog import GLOBAL_SLICE, Catalog
from tests.tui.conftest import fixed_app, settle
from tests.tui.fixture.home import build_fixture_home
from tui.app import AutopipeApp
from tui.modals import ConfirmModal, TextModal
from tui.reads.models import load_detail, load_models
from tui.screens.models import ModelsScreen

FAMILY = "titanic"


async def open_models(app: AutopipeApp, pilot: Pilot[None], version: str | None = None
                      ) -> ModelsScreen:
    """Switch to the Models screen (key 4) once its rows and detail have loaded, with
    ``version`` highlighted when given."""
    await pilot.press("4")
    screen = app.screen
    assert isinstance(screen, ModelsScreen)
    table, empty = screen.query_one("#table", DataTable), screen.query_one("#empty", Static)
    for _ in range(200):
        await settle(app)
        if table.row_count or empty.display:
            break
    if version is not None:
        table.move_cursor(row=table.get_row_index(version))
        await settle(app)
    return screen


async def answer(app: AutopipeApp, pilot: Pilot[None], key: str, text: str,
                 last: str = "enter") -> None:
    """Press ``key``, type ``text`` into the reason dialog it opens, then ``last``."""
    await pilot.press(key)
    await settle(app)
    await pilot.press(*text, last)
    await settle(app)


def aliases_cell(screen: ModelsScreen, version: str) -> str:
    table = screen.query_one("#table", DataTable)
    return str(table.get_row(version)[3])


def champion_move(catalog: Catalog, action: str) -> dict[str, Any]:
    """The newest audit entry of ``action`` that moved a champion, its detail parsed (a
    promotion also clears the challenger alias, under the same action)."""
    entries = [e | {"detail": json.loads(e["detail"])}
               for e in catalog.audit_log().filter(pl.col("action") == action).to_dicts()]
    return [e for e in entries if e["detail"]["alias"] == "champion"][-1]


def test_force_promote_then_roll_back_in_the_ui(tmp_path: Path) -> None:
    """The fixed home's titanic challenger, against a margin no model clears: the gate
    refuses, the person forces it with the reason already given, then rolls back."""
    fixed = build_fixture_home(tmp_path)
    settings = fixed.model_copy(update={"registry": fixed.registry.model_copy(
        update={"promotion_margin": 100.0})})
    catalog = Catalog(settings.catalog_path)
    champion = catalog.aliases(FAMILY)[(GLOBAL_SLICE, "champion")]
    challenger = catalog.aliases(FAMILY)[(GLOBAL_SLICE, "challenger")]

    async def scenario() -> None:
        app = AutopipeApp(settings)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_models(app, pilot, challenger)
            assert aliases_cell(screen, challenger) == "challenger"
            await pilot.press("p")
            await settle(app)
            assert isinstance(app.screen, TextModal)
            await pilot.press("enter")  # a reason is required
            assert isinstance(app.screen, TextModal)
            await pilot.press(*"fresher fares", "enter")
            await settle(app)
            assert isinstance(app.screen, ConfirmModal)  # refused: force it?
            assert any("does not beat the champion" in n.message
                       for n in app._notifications)
            assert catalog.aliases(FAMILY)[(GLOBAL_SLICE, "champion")] == champion
            await pilot.press("y")
            await settle(app)
            assert app.screen is screen
            assert catalog.aliases(FAMILY)[(GLOBAL_SLICE, "champion")] == challenger
            assert aliases_cell(screen, challenger) == "champion"
            promoted = champion_move(catalog, "force-promote")
            assert promoted["subject"] == challenger
            assert promoted["detail"]["reason"] == "fresher fares"
            assert promoted["detail"]["replaced"] == champion
            assert promoted["detail"]["forced"] and not promoted["detail"]["gate"]["passed"]
            release = read_release(release_path(settings.releases_dir, FAMILY))
            assert release["champions"]["global"] == challenger

            await answer(app, pilot, "b", "bad answers")
            assert catalog.aliases(FAMILY)[(GLOBAL_SLICE, "champion")] == champion
            assert aliases_cell(screen, champion).startswith("champion")
            rolled = champion_move(catalog, "rollback")
            assert (rolled["subject"], rolled["detail"]["reason"]) == (champion, "bad answers")
            release = read_release(release_path(settings.releases_dir, FAMILY))
            assert release["champions"]["global"] == champion
            history = screen.query_one("#history", DataTable)
            assert [str(c) for c in history.get_row_at(0)[1:5]] == [
                "rollback", "global", "champion", champion]

    asyncio.run(scenario())


def test_a_gate_that_passes_promotes_without_forcing(tmp_path: Path) -> None:
    """A slice's model is refused (only global models are promoted); the global challenger,
    against a margin any model clears, is promoted at once."""
    fixed = build_fixture_home(tmp_path)
    settings = fixed.model_copy(update={"registry": fixed.registry.model_copy(
        update={"promotion_margin": -100.0})})
    catalog = Catalog(settings.catalog_path)
    aliases = catalog.aliases(FAMILY)
    challenger = aliases[(GLOBAL_SLICE, "challenger")]
    slice_model = f"{aliases[(GLOBAL_SLICE, 'champion')]}-sex-female"

    async def scenario() -> None:
        app = AutopipeApp(settings)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_models(app, pilot, slice_model)
            await answer(app, pilot, "p", "slices too")
            assert any("only a global model can be promoted" in n.message
                       for n in app._notifications)
            assert catalog.aliases(FAMILY) == aliases

            table = screen.query_one("#table", DataTable)
            table.move_cursor(row=table.get_row_index(challenger))
            await settle(app)
            await answer(app, pilot, "p", "it is better")
            assert catalog.aliases(FAMILY)[(GLOBAL_SLICE, "champion")] == challenger
            promoted = champion_move(catalog, "promote")
            assert promoted["detail"]["reason"] == "it is better"
            assert promoted["detail"]["gate"]["passed"]

    asyncio.run(scenario())


def test_registry_rows_and_the_card_of_a_real_run(tui_home: dict[str, Any]) -> None:
    """The real titanic run: its global model (champion) and one model per sex; the card
    pane shows the highlighted version's card, whose title names the version."""
    settings: Settings = tui_home["settings"]
    version = tui_home["summary"].model_version
    listed = Catalog(settings.catalog_path).list_models()

    async def scenario() -> None:
        app = AutopipeApp(settings)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_models(app, pilot)
            table = screen.query_one("#table", DataTable)
            rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
            assert {r[0] for r in rows} == set(listed["version"])
            assert rows[0][:3] == [version, FAMILY, "global"]
            assert rows[0][3].startswith("champion")
            assert {r[2] for r in rows[1:]} == {"sex=female", "sex=male"}
            assert rows[0][6] == f"{listed.filter(version=version)['score'][0]:.4f}"
            card = screen.query_one("#card", Markdown)
            assert card.source.startswith(f"# Model card: {version}")
            titles = [str(h.content) for h in card.query("MarkdownH1").results(Static)]
            assert titles == [f"Model card: {version}"]

            await pilot.press("down")
            await settle(app)
            slice_version = rows[1][0]
            assert card.source.startswith(f"# Model card: {slice_version}")

    asyncio.run(scenario())


def test_cancelled_reasons_and_a_refused_rollback_change_nothing(
        tui_home: dict[str, Any]) -> None:
    """Esc on the reason dialog does nothing; a rollback with no earlier champion is
    refused with a message, not a traceback."""
    catalog = Catalog(tui_home["settings"].catalog_path)
    before = (catalog.audit_log().height, catalog.alias_history(FAMILY).height)

    async def scenario() -> None:
        app = AutopipeApp(tui_home["settings"])
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_models(app, pilot)
            for key in ("p", "b"):
                await answer(app, pilot, key, "never mind", last="escape")
                assert app.screen is screen
            assert (catalog.audit_log().height,
                    catalog.alias_history(FAMILY).height) == before
            await answer(app, pilot, "b", "try it")
            messages = [n.message for n in app._notifications]
            assert any("no earlier champion" in m for m in messages)
            assert (catalog.audit_log().height,
                    catalog.alias_history(FAMILY).height) == before

    asyncio.run(scenario())


def test_rows_group_by_dataset_then_slice_with_aliases_in_a_stable_order(
        tmp_path: Path) -> None:
    catalog = Catalog(build_fixture_home(tmp_path).catalog_path)
    rows = load_models(catalog)
    assert [(r["dataset"], r["slice"]) for r in rows] == [
        ("penguins", ""), ("titanic", ""), ("titanic", ""), ("titanic", "sex=female"),
        ("titanic", "sex=male")]
    titanic = [r for r in rows if r["dataset"] == FAMILY and not r["slice"]]
    assert titanic[0]["created_at"] > titanic[1]["created_at"]
    assert titanic[1]["aliases"] == "champion, champion@sex=female, champion@sex=male"
    detail = load_detail(catalog, titanic[0]["version"], FAMILY)
    assert detail.card.startswith(f"# Model card: {titanic[0]['version']}")
    assert detail.history[0]["occurred_at"] >= detail.history[-1]["occurred_at"]


def test_empty_registry_says_how_to_start(tmp_path: Path) -> None:
    async def scenario() -> None:
        app = AutopipeApp(Settings(home=tmp_path / "empty"))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_models(app, pilot)
            assert screen.query_one("#empty", Static).display
            assert not screen.query_one("#detail").display
            await pilot.press("p")
            await settle(app)
            assert app.screen is screen

    asyncio.run(scenario())



async def to_models(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, AutopipeApp)
    await open_models(app, pilot)


def test_snapshot_models_80x24(snap_compare: Any, tmp_path: Path) -> None:
    """The registry, the first version's card and alias history in a small terminal."""
    assert snap_compare(fixed_app(tmp_path), terminal_size=(80, 24), run_before=to_models)


def test_snapshot_models_120x40(snap_compare: Any, tmp_path: Path) -> None:
    """The registry, the first version's card and alias history in a large terminal."""
    assert snap_compare(fixed_app(tmp_path), terminal_size=(120, 40), run_before=to_models)
