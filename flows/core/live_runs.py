"""Runs in progress, visible to any process: ``<home>/live/<run id>.json``.

A run writes its catalog rows only when it finishes, in one transaction. Until then this
file says what it is doing (stage, best score so far), rewritten atomically on each progress
event; it is removed when the run ends, recorded or failed; a run whose process died shows as
'stopped'. The TUI lists these beside the catalog's runs, from the CLI, a deployment or itself.
The file also lists the files the run created before its catalog transaction, so that what a
killed run (a worker dying mid-run) left behind can be removed: see :func:`remove_created`.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import psutil
from pydantic import BaseModel, ConfigDict, Field

from flows.core.files import PARTIAL_MARK, write_atomically
from flows.core.progress import ProgressEvent, ProgressListener

MIN_INTERVAL_S = 0.5
"""A new stage or best score is written at once; other events at most this often."""


class LiveBest(BaseModel):
    """The best score a run in progress has reached so far."""

    learner: str | None = None
    metric: str | None = None
    score: float
    elapsed_s: float | None = None
    budget_s: float | None = None


class LiveState(BaseModel):
    """A live run file: what a run in progress is doing, and what it created."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
    pid: int
    host: str = Field(default_factory=socket.gethostname)
    status: Literal["running", "stopped"] = "running"
    stage: str = "starting"
    best: LiveBest | None = None
    created: list[str] = Field(default_factory=list)
    """Files and directories the run created before its catalog transaction."""
    started_at: datetime | None = None
    updated_at: datetime | None = None
    source: str | None = None
    target: str | None = None
    name: str | None = None
    budget_s: float | None = None
    flow_run_id: str | None = None


class LiveRun(ProgressListener):
    """Context manager around a run: keeps its live file current."""

    def __init__(self, directory: Path, run_id: str, source: str | None = None,
                 target: str | None = None, name: str | None = None,
                 budget_s: float | None = None, flow_run_id: str | None = None) -> None:
        super().__init__()
        self.path = directory / f"{run_id}.json"
        self.state = LiveState(run_id=run_id, pid=os.getpid(),
                               started_at=datetime.now().replace(microsecond=0),
                               source=source, target=target, name=name, budget_s=budget_s,
                               flow_run_id=flow_run_id)
        self.written = 0.0

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write()
        return super().__enter__()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        super().__exit__(exc_type, exc, tb)
        # Recorded or failed, the run is over: a failed run leaves the home as it was (its
        # error reached whoever started it). A killed run leaves its file: 'stopped'.
        self.path.unlink(missing_ok=True)

    def created(self, path: Path) -> None:
        """Note a file or directory the run is about to create, before it exists."""
        self.state.created.append(str(path))
        self._write()

    def show(self, event: ProgressEvent) -> None:
        before = (self.state.stage, self.state.best)
        self.state.stage = event.stage
        if event.best_score is not None:
            self.state.best = LiveBest(learner=event.best_learner, metric=event.metric,
                                       score=event.best_score, elapsed_s=event.elapsed_s,
                                       budget_s=event.budget_s)
        if before != (self.state.stage, self.state.best) \
                or time.monotonic() - self.written >= MIN_INTERVAL_S:
            self._write()

    def _write(self) -> None:
        self.state.updated_at = datetime.now().replace(microsecond=0)
        write_atomically(self.path, self.state.model_dump_json())
        self.written = time.monotonic()


def live_runs(directory: Path) -> list[LiveState]:
    """Runs in progress, newest first; a 'running' run whose process is gone is shown as
    'stopped' (a process on another host cannot be checked: it stays 'running')."""
    found = []
    for path in directory.glob("*.json") if directory.exists() else []:
        try:
            state = LiveState.model_validate_json(path.read_bytes())
        except (OSError, ValueError):
            continue  # replaced while reading: the next poll sees the new one
        if state.status == "running" and process_gone(state.host, state.pid):
            state.status = "stopped"
        found.append(state)
    return sorted(found, key=lambda s: s.started_at or datetime.min, reverse=True)


def remove_created(state: LiveState) -> None:
    """Remove what a stopped run created (with any half-written ``.NAME.partial-*`` twin):
    nothing in the catalog refers to it, as the run never reached its transaction."""
    for text in state.created:
        path = Path(text)
        for found in (path, *path.parent.glob(f".{path.name}{PARTIAL_MARK}*")):
            if found.is_dir():
                shutil.rmtree(found, ignore_errors=True)
            else:
                found.unlink(missing_ok=True)


def process_gone(host: str, pid: int) -> bool:
    """A process of this host that has ended; one on another host cannot be checked: no."""
    return host == socket.gethostname() and not psutil.pid_exists(pid)
