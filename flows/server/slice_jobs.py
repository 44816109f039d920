"""Slices trained by runs of the ``train-slice`` deployment, so several workers share them.

The parent train run writes the prepared split once and one job file per slice into a work
directory of the shared home (``<home>/work/<run id>/``), and submits one flow run per job.
Each flow run takes jobs until none is left unclaimed (a claim is an exclusive file create),
so a worker pays the start of a flow run (a new Python process importing the ML stack, ~8 s
here) once for several slices, and a worker joining late still takes its share. Outcomes are
written beside the jobs; the parent registers them (workers never touch the catalog), cancels
the flow runs that found nothing left, and removes the directory however it ends.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

import cloudpickle
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.states import Cancelled, Cancelling

from flows.core.errors import AutopipeError
from flows.core.files import write_atomically
from flows.core.live_runs import process_gone
from flows.core.registry.artifacts import model_version_slug
from flows.core.registry.lineage import code_lineage
from flows.server.reaping import mark_crashed

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun, State

SLICE_DEPLOYMENT = "train-slice/train-slice"
POLL_S = 0.5
STATE_CHECK_S = 5.0
PREPARED_FILE = "prepared.pkl"
CODE_FILE = "code.json"


def write_pickle(path: Path, value: Any) -> Path:
    return write_atomically(path, cloudpickle.dumps(value))


def read_pickle(path: Path) -> Any:
    return cloudpickle.loads(path.read_bytes())


def code_identity() -> dict[str, Any]:
    """What must match between the run and a worker for the pickled jobs to mean the same
    thing on both: the commit, autopipe's, Python's and the libraries' versions."""
    lineage = code_lineage()
    return lineage | {"git_commit": (lineage["git_commit"] or "").removesuffix("-dirty")}


def check_same_code(work_dir: Path) -> None:
    """Refuse a run's jobs when this worker's code differs from the run's."""
    try:
        theirs = json.loads((work_dir / CODE_FILE).read_text())
    except FileNotFoundError:
        return  # the run is over: there is nothing to take
    ours = code_identity()
    differences = {key: (theirs.get(key), ours.get(key)) for key in ours
                   if theirs.get(key) != ours.get(key)}
    if differences:
        raise AutopipeError(f"this worker runs other code than the run that wrote the jobs "
                            f"(run vs worker: {differences})",
                            "install the run's commit and pins on the worker, restart it")


def outcome_path(job: Path) -> Path:
    return job.with_suffix(".outcome")


def error_path(job: Path) -> Path:
    return job.with_suffix(".error")


def claim_path(job: Path) -> Path:
    """Which process, on which host, in which flow run, took a job."""
    return job.with_suffix(".claim")


def claimed_jobs(work_dir: Path, flow_run_id: str) -> Iterator[Path]:
    """Jobs of a run not yet taken by anyone, each claimed for this process as it is
    yielded; ends when none is left (or the run is over and its directory gone)."""
    while True:
        for job in sorted(work_dir.glob("*.job")):
            try:
                claim = os.open(claim_path(job), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                continue
            except FileNotFoundError:
                return
            with os.fdopen(claim, "w") as file:
                file.write(f"{socket.gethostname()} {os.getpid()} {flow_run_id}")
            yield job
            break
        else:
            return


@dataclass
class SliceJob:
    """A submitted slice: ``result()`` waits for its outcome, whichever flow run trains it."""

    name: str
    job: Path
    runner: SliceDeploymentRunner

    def result(self) -> Any:
        checked = time.monotonic()
        while not outcome_path(self.job).exists():
            if error_path(self.job).exists():
                raise AutopipeError(f"slice {self.name!r} failed on its worker: "
                                    f"{error_path(self.job).read_text()}",
                                    "see the worker's log and rerun")
            died = _claimed_by_dead_process(claim_path(self.job))
            if died is not None:
                mark_crashed(died)
                raise AutopipeError(f"the worker training slice {self.name!r} died mid-run",
                                    "start the workers again (autopipe server start), rerun")
            if time.monotonic() - checked > STATE_CHECK_S:
                self.runner.check_running(self.name)
                checked = time.monotonic()
            self.runner.cancel_idle()
            time.sleep(POLL_S)
        return read_pickle(outcome_path(self.job))


@dataclass
class SliceDeploymentRunner:
    """Submits slices to a deployment; used where train_slices uses a task runner."""

    deployment: str
    work_dir: Path
    flow_runs: list[UUID] = field(default_factory=list)
    jobs: list[Path] = field(default_factory=list)
    prepared: Path | None = None
    idle_cancelled: bool = False

    def __enter__(self) -> SliceDeploymentRunner:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / CODE_FILE).write_text(json.dumps(code_identity()))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._cancel(running_too=exc is not None, pending_too=True)
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def submit(self, parameters: dict[str, Any]) -> SliceJob:
        """Write the slice's job (the prepared split once for all) and one more flow run."""
        if self.prepared is None:
            self.prepared = write_pickle(self.work_dir / PREPARED_FILE, parameters["prepared"])
        name = parameters["spec"].name
        index = len(self.flow_runs) + 1
        job = write_pickle(self.work_dir / f"{index:03d}-{model_version_slug(name)}.job",
                           parameters | {"prepared": self.prepared})
        try:
            flow_run = cast("FlowRun", run_deployment(  # sync here; typed for both
                self.deployment, parameters={"work_dir": str(self.work_dir)}, timeout=0,
                flow_run_name=f"slices of {self.work_dir.name} #{index}"))
        except ObjectNotFound as exc:
            raise AutopipeError(f"there is no deployment {self.deployment!r} to train slices on",
                                "deploy the flows first: autopipe server start") from exc
        self.flow_runs.append(flow_run.id)
        self.jobs.append(job)
        return SliceJob(name, job, self)

    def cancel_idle(self) -> None:
        """Once every job is taken, the flow runs no worker has picked up yet are not needed:
        cancelled at once, so no worker starts a process for nothing."""
        if self.idle_cancelled or not all(claim_path(job).exists() for job in self.jobs):
            return
        self.idle_cancelled = True
        self._cancel(running_too=False, pending_too=False)

    def check_running(self, name: str) -> None:
        """Some flow run may still take the slice: not all of them ended."""
        with get_client(sync_client=True) as client:
            states = [client.read_flow_run(i).state for i in self.flow_runs]
        if all(state is not None and state.is_final() for state in states):
            messages = {f"{s.name}: {s.message}" for s in states if s and not s.is_completed()}
            raise AutopipeError(f"slice {name!r} was never trained: every slice flow run "
                                f"ended ({'; '.join(sorted(messages)) or 'all completed'})",
                                "see the slice workers' logs and rerun")

    def _cancel(self, running_too: bool, pending_too: bool) -> None:
        """The flow runs left with nothing to do (not started yet), or all on a failure."""
        with get_client(sync_client=True) as client:
            for flow_run_id in self.flow_runs:
                state = client.read_flow_run(flow_run_id).state
                if state is None or state.is_final() or (state.is_running() and not running_too) \
                        or (state.is_pending() and not pending_too):
                    continue
                cancel: State[Any] = Cancelling() if state.is_running() else Cancelled(
                    message="every slice was taken by another flow run")
                client.set_flow_run_state(flow_run_id, cancel, force=True)


def _claimed_by_dead_process(path: Path) -> UUID | None:
    """The flow run that claimed a job on this host from a process that is gone (other
    hosts cannot be checked)."""
    try:
        host, pid, flow_run_id = path.read_text().split()
    except (OSError, ValueError):
        return None
    return UUID(flow_run_id) if process_gone(host, int(pid)) else None
