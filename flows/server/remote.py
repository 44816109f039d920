"""``autopipe run --remote``: submit the ``train`` deployment and follow it to its end.

Progress comes from the run's live file in the shared home (the same stages a local run
shows); the end state from the Prefect server; the summary from the file the run wrote beside
its report. A run whose process died is reaped and reported, rather than followed forever.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound

from flows.core.config import Settings
from flows.core.data.ingest import file_hash
from flows.core.errors import AutopipeError
from flows.core.files import partial_path
from flows.core.live_runs import LiveBest, LiveState, live_runs
from flows.core.progress import SEARCH_STAGES, ProgressEvent
from flows.core.records.run import RunSummary
from flows.core.reports.files import summary_path
from flows.core.store.catalog import Catalog
from flows.server.reaping import reap_stopped_runs

if TYPE_CHECKING:
    from collections.abc import Callable

    from prefect.client.schemas.objects import FlowRun, State

TRAIN_DEPLOYMENT = "train/train"
POLL_S = 0.5
UNCLAIMED_NOTICE_S = 30.0
"""A run no worker took within this long gets a word on why (usually: no worker running)."""


def submit_train(settings: Settings, parameters: dict[str, Any]) -> UUID:
    """A flow run of the train deployment with these parameters; the local files it reads
    (source, policies) are copied into the shared home first, as a worker on another
    machine sees the home but not this machine's disk."""
    parameters = parameters | {"source": _into_home(settings, parameters["source"])}
    if parameters.get("policies"):
        parameters["policies"] = [_into_home(settings, p) for p in parameters["policies"]]
    try:
        flow_run = cast("FlowRun", run_deployment(  # sync here; typed for both
            TRAIN_DEPLOYMENT, parameters=parameters, timeout=0, as_subflow=False))
    except ObjectNotFound as exc:
        raise AutopipeError(f"the server has no deployment {TRAIN_DEPLOYMENT!r}",
                            "start the server and its workers: autopipe server start") from exc
    return flow_run.id


def follow(settings: Settings, flow_run_id: UUID, show: Callable[[ProgressEvent], None],
           notice: Callable[[str], None]) -> RunSummary:
    """Wait for the flow run to end, passing its progress to ``show`` and a word to
    ``notice`` if no worker takes it; its summary."""
    tracker = _LiveTracker(show)
    submitted, noticed = time.monotonic(), False
    with get_client(sync_client=True) as client:
        while True:
            state = client.read_flow_run(flow_run_id).state
            if not noticed and state is not None and state.is_scheduled() \
                    and time.monotonic() - submitted > UNCLAIMED_NOTICE_S:
                noticed = True
                notice(f"No worker has taken the run after {UNCLAIMED_NOTICE_S:g} s: is one "
                       "polling the 'autopipe' pool? (autopipe server status; autopipe server "
                       "start). Still waiting; Ctrl-C stops waiting, not the run.")
            live = next((s for s in live_runs(settings.live_dir)
                         if s.flow_run_id == str(flow_run_id)), None)
            if live is not None:
                tracker.update(live)
                if live.status == "stopped":
                    reap_stopped_runs(settings)
                    raise AutopipeError("the worker running this run died; the run was "
                                        "marked crashed and its files removed",
                                        "start the workers again (autopipe server start)")
            if state is not None and state.is_final():
                break
            time.sleep(POLL_S)
    tracker.finish()
    return _summary_of(settings, flow_run_id, state)


def _summary_of(settings: Settings, flow_run_id: UUID, state: State) -> RunSummary:
    run_id = Catalog(settings.catalog_path).run_of_flow_run(str(flow_run_id))
    if state.is_completed() and run_id:
        return RunSummary.read(summary_path(settings.reports_dir, run_id))
    raise AutopipeError(f"the run on the server ended {state.name}: {state.message or ''}",
                        f"see the workers' logs in {settings.logs_dir} (flow run "
                        f"{flow_run_id})")


class _LiveTracker:
    """Turns successive live states into the progress events a local run would emit."""

    def __init__(self, show: Callable[[ProgressEvent], None]) -> None:
        self.show, self.stage = show, ""
        self.best: LiveBest | None = None

    def update(self, live: LiveState) -> None:
        if live.stage != self.stage and live.stage != "starting":
            self.finish()
            self.stage = live.stage
            self.show(ProgressEvent(stage=self.stage, status="started"))
        best = live.best
        if best and best != self.best and self.stage in SEARCH_STAGES:
            self.best = best
            self.show(ProgressEvent(
                stage=self.stage, status="running", elapsed_s=best.elapsed_s,
                budget_s=best.budget_s, best_score=best.score,
                best_learner=best.learner, metric=best.metric))

    def finish(self) -> None:
        if self.stage:
            self.show(ProgressEvent(stage=self.stage, status="finished"))


def _into_home(settings: Settings, source: str) -> str:
    """A local file as ``<home>/inbox/<content hash>/<its name>`` (the name is kept: it names
    the dataset); anything else (a database URI) unchanged."""
    path = Path(source).expanduser()
    if not path.is_file():
        return source
    copy = settings.inbox_dir / file_hash(path)[:16] / path.name
    if not copy.exists():
        copy.parent.mkdir(parents=True, exist_ok=True)
        partial = partial_path(copy)  # copied, not read whole: a source can be gigabytes
        shutil.copyfile(path, partial)
        os.replace(partial, copy)
    return str(copy)
