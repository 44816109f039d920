"""Prefect workers for autopipe's deployments, started beside the local server.

``autopipe server start`` creates the process work pool ``autopipe``, deploys every flow in
this checkout's prefect.yaml, and starts one worker for the ``default`` queue (train, retrain,
monitor, package) plus ``slice_workers`` for the ``slices`` queue, each taking one slice at a
time with its share of the cores. A run's slices then spread across the slice workers; workers
on other machines join by polling the same pool (see the README's deployment section).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from datetime import timedelta
from pathlib import Path

import psutil
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification
from prefect.exceptions import ObjectAlreadyExists

from flows.core.config import Settings
from flows.core.errors import ServerError
from flows.server.environment import tool_environment
from flows.server.local_server import alive, prefect_executable, stop_process_group

POOL = "autopipe"
TRAIN_QUEUE, SLICE_QUEUE = "default", "slices"
STATE_FILE = "autopipe-workers.json"
CHECKOUT = Path(__file__).resolve().parents[2]
HEARTBEAT_S = 30
"""Flow runs started by these workers report every 30 s (Prefect's minimum)..."""
ZOMBIE_AFTER_S = 120
"""...and one that missed them for 2 minutes is marked Crashed by the server (on any host)."""
ZOMBIE_AUTOMATION = "autopipe: crash flow runs that stopped reporting"
POLL_SECONDS = "1"
"""How often a worker asks for runs: 1 s instead of Prefect's 10 s puts a submitted run on a
worker in about 4 s (measured)."""


def ensure_pool() -> None:
    """The process work pool the deployments name (kept if it exists), on the server
    PREFECT_API_URL names."""
    with get_client(sync_client=True) as client, contextlib.suppress(ObjectAlreadyExists):
        client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))


def ensure_zombie_automation() -> None:
    """The automation Prefect documents for runs whose machine died: a flow run that sent
    heartbeats and then neither another one nor a final state within ZOMBIE_AFTER_S is set
    Crashed. Reaping (flows/server/reaping.py) is quicker but sees only its own host's processes."""
    with get_client(sync_client=True) as client:
        if client.read_automations_by_name(ZOMBIE_AUTOMATION):
            return
        client.create_automation(AutomationCore(
            name=ZOMBIE_AUTOMATION,
            trigger=EventTrigger(
                after={"prefect.flow-run.heartbeat"},
                expect={"prefect.flow-run.heartbeat", "prefect.flow-run.Completed",
                        "prefect.flow-run.Failed", "prefect.flow-run.Cancelled",
                        "prefect.flow-run.Crashed"},
                match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
                for_each={"prefect.resource.id"}, posture=Posture.Proactive, threshold=1,
                within=timedelta(seconds=ZOMBIE_AFTER_S)),
            actions=[ChangeFlowRunState(
                state=StateType.CRASHED,
                message=f"no heartbeat for {ZOMBIE_AFTER_S} s: its worker or machine died")]))


def deploy_all(settings: Settings, api_url: str) -> None:
    """``prefect deploy --all`` from this checkout's prefect.yaml."""
    if not (CHECKOUT / "prefect.yaml").exists():
        raise ServerError(f"no prefect.yaml in {CHECKOUT}",
                          "deploy from a checkout of autopipe (pip install -e .)")
    log_file = settings.logs_dir / "prefect-deploy.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        code = subprocess.call(
            [prefect_executable(), "--no-prompt", "deploy", "--all"], cwd=CHECKOUT,
            env=worker_environment(settings, api_url), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
    if code != 0:
        raise ServerError(f"prefect deploy --all failed (exit code {code})",
                          f"see {log_file}")


def start_workers(settings: Settings, api_url: str, slice_workers: int) -> list[dict[str, object]]:
    """One run worker and ``slice_workers`` slice workers for this home; return them (pid,
    queue, limit, log). Workers already running as asked are kept (with their runs); another
    count replaces them, stopping what they run."""
    running = running_workers(settings.prefect_home)
    queues = sorted(str(w["queue"]) for w in running)
    if queues == sorted([TRAIN_QUEUE] + [SLICE_QUEUE] * slice_workers) \
            and all(w.get("api_url") == api_url for w in running):
        return running
    stop_workers(settings.prefect_home)
    cores = max(1, (os.cpu_count() or 1) // max(1, slice_workers))
    started = [_start_worker(settings, api_url, TRAIN_QUEUE, 0, limit=None, n_jobs=None)]
    started += [_start_worker(settings, api_url, SLICE_QUEUE, index, limit=1, n_jobs=cores)
                for index in range(1, slice_workers + 1)]
    (settings.prefect_home / STATE_FILE).write_text(json.dumps(started))
    return started


def running_workers(prefect_home: Path) -> list[dict[str, object]]:
    try:
        workers: list[dict[str, object]] = json.loads((prefect_home / STATE_FILE).read_text())
    except (OSError, ValueError):
        return []
    return [w for w in workers if alive(int(str(w["pid"])))]


def stop_workers(prefect_home: Path, grace_s: float = 10.0) -> int:
    """Stop this home's workers and the flow runs they are running (each in a session of its
    own, so not in the worker's process group); how many workers were running. A stopped
    run fails as an interrupted one does: its files are removed, the catalog untouched."""
    workers = running_workers(prefect_home)
    (prefect_home / STATE_FILE).unlink(missing_ok=True)
    runs = [child.pid for w in workers for child in _children(int(str(w["pid"])))]
    stopped = sum(stop_process_group(int(str(w["pid"])), grace_s) for w in workers)
    for pid in runs:
        stop_process_group(pid, grace_s)
    return stopped


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children()
    except psutil.NoSuchProcess:
        return []


def worker_environment(settings: Settings, api_url: str) -> dict[str, str]:
    """What a worker and its flow runs need: the server, this home, this checkout."""
    return os.environ | tool_environment(settings) | {
        "PREFECT_API_URL": api_url, "AUTOPIPE_CHECKOUT": str(CHECKOUT),
        "PREFECT_WORKER_QUERY_SECONDS": POLL_SECONDS,
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_S),
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "INFO"}


def _start_worker(settings: Settings, api_url: str, queue: str, index: int,
                  limit: int | None, n_jobs: int | None) -> dict[str, object]:
    log_file = settings.logs_dir / f"worker-{queue}-{index}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = worker_environment(settings, api_url)
    if n_jobs is not None:
        env["AUTOPIPE_SEARCH__N_JOBS"] = str(n_jobs)
    command = [prefect_executable(), "worker", "start", "--pool", POOL, "--type", "process",
               "--work-queue", queue, "--name", f"autopipe-{queue}-{index}-{os.getpid()}"]
    if limit is not None:
        command += ["--limit", str(limit)]
    with log_file.open("ab") as log:
        process = subprocess.Popen(command, cwd=CHECKOUT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    return {"pid": process.pid, "queue": queue, "limit": limit, "log": str(log_file),
            "api_url": api_url}
