"""Shared fixtures: one session home with real trained models, one Prefect server.

Prefect and BentoML read their homes at import time, so the session's environment is set
here, before any test module imports them. Tests that must see an untouched catalog get their
own AUTOPIPE_HOME (``fresh_home``); the expensive parts (the Prefect server, three real
training runs) are made once per session.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from flows.core.records.run import RunSummary

SESSION_HOME = Path(tempfile.mkdtemp(prefix="autopipe-tests-"))
os.environ.pop("PREFECT_API_URL", None)
os.environ.update({
    "AUTOPIPE_HOME": str(SESSION_HOME),
    "PREFECT_HOME": str(SESSION_HOME / "prefect"),
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_UI_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "BENTOML_DO_NOT_TRACK": "True",
    "BENTOML_HOME": str(SESSION_HOME / "bentoml"),
    # As the CLI sets it: Prefect prints nothing on the console, errors reach the user once.
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
    # The sample runs featurize text with TF-IDF even where the text extra is installed: this
    # CPU embeds ~120 documents a second. tests/core/test_embeddings.py covers embeddings.
    "AUTOPIPE_SEARCH__TEXT_FEATURES": "tfidf",
})

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
# (file, target, expected task)
SAMPLE_RUNS = {
    "binary": (SAMPLES / "titanic.csv", "survived"),
    "multiclass": (SAMPLES / "penguins.csv", "species"),
    "regression": (SAMPLES / "diamonds_1500.csv", "price"),
}
TEST_BUDGET_S = 3.0
TEST_MODELS = 2
"""The session's sample runs fit this many portfolio configurations (a count, not a clock:
what they produce cannot flake with the machine's load)."""


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """A real local Prefect server for the session, started the way the CLI starts it."""
    from flows.server.local_server import ensure_server, stop_server

    home = SESSION_HOME / "prefect"
    url = ensure_server(home, SESSION_HOME / "logs" / "prefect-server.log")
    os.environ["PREFECT_API_URL"] = url
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield url
    _drain_prefect_workers()  # send the last logs and events while the server still answers
    stop_server(home)


def _drain_prefect_workers() -> None:
    """What prefect_test_harness does before it stops its server."""
    import inspect

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        for result in (APILogWorker.instance().drain(), EventsWorker.drain_all()):
            if inspect.isawaitable(result):
                await result

    run_coro_as_sync(drain())


@pytest.fixture(scope="session")
def trained(prefect_api: str) -> dict[str, RunSummary]:
    """One real train flow per task on the shipped samples: task -> run summary."""
    from flows.train_flow import train

    return {task: train(source=str(path), target=target, budget_s=TEST_BUDGET_S, seed=0,
                        max_models=TEST_MODELS)
            for task, (path, target) in SAMPLE_RUNS.items()}


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty AUTOPIPE_HOME for tests that check what a command writes."""
    home = tmp_path / "home"
    monkeypatch.setenv("AUTOPIPE_HOME", str(home))
    return home


def tree(root: Path) -> set[str]:
    """Every file below root: what 'left the store as it was' is checked against."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() \
        else set()
