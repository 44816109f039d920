"""The autopipe terminal UI.

Every catalog read runs in a thread worker and posts its result back, so the UI never blocks
on DuckDB's file lock while a flow is writing.
"""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from flows.core.config import Settings
from flows.core.store import Catalog
from tui.screens.runs import RunsScreen


class AutopipeApp(App[None]):
    TITLE = "autopipe"
    CSS_PATH = "app.tcss"
    BINDINGS = [Binding("q", "quit", "Quit")]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.catalog = Catalog(settings.catalog_path)

    def on_mount(self) -> None:
        self.push_screen(RunsScreen(self.catalog))
