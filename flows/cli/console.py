"""What every command shares: the two consoles, the settings, number and JSON formatting."""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psutil
from rich.console import Console

from flows.core.config import Settings
from flows.core.records.outcome import RunOutcome
from flows.core.records.run import RunSummary
from flows.server import environment

T = TypeVar("T")
out = Console()
err = Console(stderr=True)
_server_ready_at: float | None = None
"""When a local Prefect server this command had to start became ready (epoch seconds)."""


def load_settings() -> Settings:
    """The settings, with the environment the tools read (Prefect, BentoML homes) applied."""
    settings = Settings()
    environment.apply(settings)
    return settings


def fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def json_safe(value: Any) -> Any:
    """NaN is not JSON: turn it into null everywhere in a nested structure."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def prefect_api(settings: Settings) -> str:
    """Use the user's PREFECT_API_URL, else this home's local server (started once)."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    from flows.server.local_server import api_url, ensure_server

    global _server_ready_at
    url = api_url(settings.prefect_home)
    if url is None:
        with err.status("Starting the local Prefect server (it stays for later commands)…"):
            url = ensure_server(settings.prefect_home, settings.logs_dir / "prefect-server.log",
                                settings.server.idle_stop_s)
        _server_ready_at = time.time()
    os.environ["PREFECT_API_URL"] = url
    return url


def process_started() -> float:
    """When this command started (epoch seconds): what a run's budget counts from. Starting
    the local Prefect server, which happens once for a home, is not counted."""
    return max(psutil.Process().create_time(), _server_ready_at or 0.0)


def run_flow(settings: Settings, call: Callable[[], T], show_progress: bool) -> T:
    """Run a flow in this process against autopipe's Prefect server, showing its live
    progress unless told not to. ``call`` imports the flow: Prefect must be imported after
    its API address is set."""
    prefect_api(settings)
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    if not show_progress:
        return call()
    from flows.cli.progress import RunProgress

    with RunProgress(err):
        return call()


@contextlib.contextmanager
def outcome_written(path: Path | None) -> Iterator[Callable[[RunSummary], None]]:
    """Write how a run ended to ``path`` (a RunOutcome), whichever way it ends: the caller
    reports the summary when it succeeded; an exception is recorded and raised on."""
    def finished(summary: RunSummary) -> None:
        if path:
            RunOutcome.completed(summary).write(path)

    try:
        yield finished
    except Exception as exc:
        if path:
            RunOutcome.failed(exc).write(path)
        raise
