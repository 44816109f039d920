"""``autopipe server``: the local Prefect server that runs autopipe's flows, and its workers."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.table import Table

from flows.cli.console import err, load_settings, out, prefect_api

server_app = typer.Typer(help="The local Prefect server that runs autopipe's flows.")


@server_app.command("start")
def server_start(
    slice_workers: Annotated[int, typer.Option(
        "--workers", help="Slice workers: each trains one slice at a time with its share of "
                          "the cores (0: the server and the run worker only).")] = 1,
) -> None:
    """Start (or find) the local Prefect server, deploy autopipe's flows (prefect.yaml) and
    start their workers: one for runs, --workers for slices. Prints the API address."""
    settings = load_settings()
    url = prefect_api(settings)
    from flows.server.local_server import keep_running
    from flows.server.reaping import reap_stopped_runs
    from flows.server.workers import (
        deploy_all,
        ensure_pool,
        ensure_zombie_automation,
        start_workers,
    )

    keep_running(settings.prefect_home)  # deployments and workers: not stopped when idle
    for state in reap_stopped_runs(settings):
        err.print(f"[yellow]Run {state.run_id} had died mid-run:[/] its flow run is marked "
                  "crashed and the files it had written are removed.")
    with err.status("Deploying autopipe's flows from prefect.yaml…"):
        ensure_pool()
        ensure_zombie_automation()
        deploy_all(settings, url)
    table = Table("worker pid", "queue", "runs at once", "log", box=None)
    for worker in start_workers(settings, url, max(0, slice_workers)):
        table.add_row(str(worker["pid"]), str(worker["queue"]),
                      str(worker["limit"] or "any"), str(worker["log"]))
    err.print(table)
    err.print("Submit runs with: autopipe run SOURCE --target COLUMN --remote")
    out.print(url)


@server_app.command("status")
def server_status() -> None:
    """Whether the local Prefect server and its workers are running, and when the server
    stops by itself."""
    from flows.server.local_server import server_state
    from flows.server.workers import running_workers

    settings = load_settings()
    state = server_state(settings.prefect_home)
    err.print(f"server: {state['url'] if state else 'not running'}")
    if state:
        err.print(f"  {_server_lifetime(state)}")
    workers = running_workers(settings.prefect_home)
    for worker in workers:
        err.print(f"worker {worker['pid']}: queue {worker['queue']}, log {worker['log']}")
    if not workers:
        err.print("workers: none (autopipe server start starts them)")


@server_app.command("stop")
def server_stop() -> None:
    """Stop the local Prefect server and the workers started by autopipe."""
    from flows.server.local_server import stop_server
    from flows.server.workers import stop_workers

    settings = load_settings()
    workers = stop_workers(settings.prefect_home)
    stopped = stop_server(settings.prefect_home)
    err.print(f"Stopped {workers} worker(s) and the local Prefect server." if stopped
              else f"Stopped {workers} worker(s); no local server was running.")


def _server_lifetime(state: dict[str, Any]) -> str:
    """What the server will do: stop once idle (and how idle it is now), or keep running."""
    if not state.get("idle_stop_s"):
        return "kept: runs until autopipe server stop"
    import httpx

    from flows.server.idle_stop import last_activity

    idle_s = float(state["idle_stop_s"])
    try:
        since = max(last_activity(str(state["url"])) or 0.0, float(state.get("started_at", 0)))
        now = f"; idle for {_duration(time.time() - since)} now"
    except httpx.HTTPError:
        now = ""
    return (f"started by a command: stops after {_duration(idle_s)} without a flow run{now} "
            f"(AUTOPIPE_SERVER__IDLE_STOP_MINUTES; autopipe server start keeps it)")


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"
