"""Slices trained as runs of the ``train-slice`` deployment, so several workers share them.

The parent train run writes the prepared split once and one job file per slice into a work
directory of the shared home (``<home>/work/<run id>/``), submits one flow run per slice and
waits for them; each worker reads its job, trains, and writes the outcome beside it. Workers
never touch the catalog: the parent registers every outcome (one writer). The work directory
is removed when the parent ends, however it ends.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

import cloudpickle
import psutil
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.states import Cancelling

from flows.core.errors import AutopipeError
from flows.core.registry import model_version_slug
from flows.reaping import mark_crashed

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun

SLICE_DEPLOYMENT = "train-slice/train-slice"
POLL_S = 1.0
PREPARED_FILE = "prepared.pkl"


def write_pickle(path: Path, value: Any) -> Path:
    """Written whole or not at all: a reader never sees half a file."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(cloudpickle.dumps(value))
    os.replace(partial, path)
    return path


def read_pickle(path: Path) -> Any:
    return cloudpickle.loads(path.read_bytes())


def outcome_path(job: Path) -> Path:
    return job.with_suffix(".outcome")


def claim_path(job: Path) -> Path:
    """Which process on which host works on a job: the parent notices when it dies."""
    return job.with_suffix(".claim")


@dataclass
class SliceRun:
    """A submitted slice: ``result()`` waits for its flow run and returns its outcome."""

    name: str
    flow_run_id: UUID
    job: Path

    def result(self) -> Any:
        with get_client(sync_client=True) as client:
            while True:
                state = client.read_flow_run(self.flow_run_id).state
                if state is not None and state.is_final():
                    break
                if _claim_died(claim_path(self.job)):
                    mark_crashed(self.flow_run_id)
                    raise AutopipeError(
                        f"the worker training slice {self.name!r} died mid-run",
                        "start the workers again (autopipe server start) and rerun")
                time.sleep(POLL_S)
        if state.is_completed() and outcome_path(self.job).exists():
            return read_pickle(outcome_path(self.job))
        raise AutopipeError(
            f"slice {self.name!r} ended {state.name} on its worker: {state.message or ''}",
            f"see the worker's log (flow run {self.flow_run_id}) and rerun")


class SliceDeploymentRunner:
    """Submits slices to a deployment; used where train_slices uses a task runner."""

    def __init__(self, deployment: str, work_dir: Path) -> None:
        self.deployment, self.work_dir = deployment, work_dir
        self.runs: list[SliceRun] = []
        self.prepared: Path | None = None

    def __enter__(self) -> SliceDeploymentRunner:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is not None:
            self._cancel_unfinished()
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def submit(self, parameters: dict[str, Any]) -> SliceRun:
        """One flow run for one slice; the prepared split is written once for all."""
        if self.prepared is None:
            self.prepared = write_pickle(self.work_dir / PREPARED_FILE, parameters["prepared"])
        name = parameters["spec"].name
        job = write_pickle(self.work_dir / f"{model_version_slug(name)}.job",
                           parameters | {"prepared": self.prepared})
        try:
            flow_run = cast("FlowRun", run_deployment(  # sync here; typed for both
                self.deployment, parameters={"job": str(job)}, timeout=0,
                flow_run_name=f"slice {name}"))
        except ObjectNotFound as exc:
            raise AutopipeError(f"there is no deployment {self.deployment!r} to train slices on",
                                "deploy the flows first: autopipe server start") from exc
        run = SliceRun(name, flow_run.id, job)
        self.runs.append(run)
        return run

    def _cancel_unfinished(self) -> None:
        with get_client(sync_client=True) as client:
            for run in self.runs:
                state = client.read_flow_run(run.flow_run_id).state
                if state is None or not state.is_final():
                    client.set_flow_run_state(run.flow_run_id, Cancelling(), force=True)


def claim(job: Path) -> None:
    claim_path(job).write_text(f"{socket.gethostname()} {os.getpid()}")


def _claim_died(path: Path) -> bool:
    """Claimed on this host by a process that is gone (other hosts cannot be checked)."""
    try:
        host, pid = path.read_text().split()
    except (OSError, ValueError):
        return False
    return host == socket.gethostname() and not psutil.pid_exists(int(pid))


