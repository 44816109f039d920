"""A local Prefect server that a command started stops by itself once idle.

The first command that needs Prefect starts its home's server in the background
(local_server.py) and, beside it, this watcher: a small process (httpx, no Prefect import)
that asks the server every few seconds whether a flow run is active, and when the last one
ended, and stops the server once none has been for ``idle_s``. The next command starts it
again (8-15 s). A server started with ``autopipe server start`` (deployments and workers) runs
until ``autopipe server stop``: it has no watcher. Without this, trying autopipe in twelve
folders left twelve servers running, ~240 MB and ~5% of a core each.

    python -m flows.server.idle_stop PREFECT_HOME URL SERVER_PID IDLE_S
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

import httpx

from flows.server.local_server import alive, stop_server

ACTIVE_STATES = ("PENDING", "RUNNING", "CANCELLING", "PAUSED")
"""Not SCHEDULED: a deployment's schedule (or a run no worker will take) keeps creating those,
and would keep a server no one uses alive."""
POLL_S = 30.0
"""How often the watcher asks (at most; a quarter of the idle time when that is shorter)."""


def last_activity(url: str) -> float | None:
    """When a flow run was last active on the server (epoch seconds): now while one is, else
    when the newest one ended; None when none ever ended."""
    active = httpx.post(f"{url}/flow_runs/count", timeout=10.0, json={
        "flow_runs": {"state": {"type": {"any_": list(ACTIVE_STATES)}}}})
    active.raise_for_status()
    if int(active.json()):
        return time.time()
    newest = httpx.post(f"{url}/flow_runs/filter", timeout=10.0,
                        json={"sort": "END_TIME_DESC", "limit": 1})
    newest.raise_for_status()
    ended = [run["end_time"] for run in newest.json() if run.get("end_time")]
    return datetime.fromisoformat(ended[0]).timestamp() if ended else None


def watch(prefect_home: Path, url: str, server_pid: int, idle_s: float) -> bool:
    """Wait while the server runs; stop it after ``idle_s`` without an active flow run.
    True if this stopped it."""
    since = time.time()
    while alive(server_pid):
        time.sleep(min(POLL_S, max(idle_s / 4, 0.2)))
        try:
            since = max(since, last_activity(url) or 0.0)
        except (httpx.HTTPError, ValueError):
            continue  # busy or going down: ask again
        if time.time() - since >= idle_s:
            return stop_server(prefect_home, pid=server_pid)
    return False


def main(argv: list[str]) -> None:
    prefect_home, url, server_pid, idle_s = argv
    if watch(Path(prefect_home), url, int(server_pid), float(idle_s)):
        print(f"{datetime.now():%Y-%m-%d %H:%M:%S} stopped the local Prefect server at {url}: "
              f"no flow run for {float(idle_s):g} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
