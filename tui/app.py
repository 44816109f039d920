"""The autopipe terminal UI: one screen per job (runs, resources, data, models, alerts,
review), switched with the number keys or the command palette.

Every catalog read runs in a thread worker through the store's short locked connections and
posts its result back, so the UI never blocks on DuckDB's file lock while a flow is writing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import Hit, Hits, Provider
from textual.screen import Screen

from flows.core.config import Settings
from flows.core.store.catalog import Catalog
from tui.modals import HelpModal

SCREENS = {
    "runs": ("tui.screens.runs", "RunsScreen", "Runs: every run, live progress, details"),
    "resources": ("tui.screens.resources", "ResourcesScreen",
                  "Resources: time, CPU and memory per stage; compare runs"),
    "data": ("tui.screens.data", "DataScreen", "Data: dataset versions, analysis, alerts"),
    "models": ("tui.screens.models", "ModelsScreen",
               "Models: registry by slice, promote, roll back, model card"),
    "alerts": ("tui.screens.alerts", "AlertsScreen",
               "Alerts: triage drift, quality and performance alerts"),
    "review": ("tui.screens.review", "ReviewScreen",
               "Review: confirm, correct or skip queued predictions"),
}


def _screen_factory(name: str) -> Callable[[], Screen[None]]:
    module, cls, _ = SCREENS[name]
    return lambda: getattr(importlib.import_module(module), cls)()


class ScreenCommands(Provider):
    """The command palette: go to a screen, or run a screen's main command."""

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        app = self.app
        assert isinstance(app, AutopipeApp)
        for name, (_, _, help_text) in SCREENS.items():
            score = matcher.match(help_text)
            if score > 0:
                yield Hit(score, matcher.highlight(help_text), partial(app.switch_mode, name),
                          help=f"key {list(SCREENS).index(name) + 1}")
        for text, action in (("Start a run: a file and a target", "start_run"),
                             ("Help: every key", "help")):
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text),
                          partial(app.run_action, action))


class AutopipeApp(App[None]):
    TITLE = "autopipe"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {ScreenCommands}
    MODES: ClassVar[dict[str, Callable[[], Screen[None]]]] = {  # type: ignore[assignment]
        name: _screen_factory(name) for name in SCREENS}
    DEFAULT_MODE = "runs"
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(str(i), f"switch_mode('{name}')", name.capitalize(), show=False)
          for i, name in enumerate(SCREENS, start=1)),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.catalog = Catalog(settings.catalog_path)

    def now(self) -> datetime:
        """What ages (of alerts, of runs) are measured from; snapshot tests fix it."""
        return datetime.now()

    def action_help(self) -> None:
        self.push_screen(HelpModal())

    def action_start_run(self) -> None:
        from tui.screens.start_run import StartRunModal

        self.push_screen(StartRunModal())
