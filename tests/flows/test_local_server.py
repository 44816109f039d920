"""The local Prefect server a command starts stops by itself once idle; one started with
``autopipe server start`` is kept. Real servers, each in a home of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.server.idle_stop import last_activity
from flows.server.local_server import (
    alive,
    api_url,
    ensure_server,
    keep_running,
    server_state,
    stop_server,
)

pytestmark = pytest.mark.slow
AUTOPIPE = str(Path(sys.executable).with_name("autopipe"))


def wait_until(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.5)
    return False


def status(home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AUTOPIPE_"))}
    result = subprocess.run([AUTOPIPE, "server", "status"], capture_output=True, text=True,
                            env=env | {"AUTOPIPE_HOME": str(home)}, timeout=60, check=True)
    return result.stderr


def test_a_server_a_command_started_stops_once_idle_and_starts_again_on_demand(
        tmp_path: Path) -> None:
    prefect_home = tmp_path / "prefect"
    url = ensure_server(prefect_home, tmp_path / "server.log", idle_stop_s=4.0)
    state = server_state(prefect_home)
    assert state is not None and state["idle_stop_s"] == 4.0 and alive(state["watcher_pid"])
    assert last_activity(url) is None  # no flow run ever ended here
    assert "stops after 4 s without a flow run" in status(tmp_path)

    assert wait_until(lambda: not alive(int(state["pid"])), 60), "the idle server kept running"
    assert api_url(prefect_home) is None and server_state(prefect_home) is None
    assert wait_until(lambda: not alive(int(state["watcher_pid"])), 10)
    assert "no flow run for 4 s" in (tmp_path / "server.log").read_text()

    again = ensure_server(prefect_home, tmp_path / "server.log", idle_stop_s=None)
    assert api_url(prefect_home) == again
    stop_server(prefect_home)


def test_a_kept_server_runs_until_it_is_stopped(tmp_path: Path) -> None:
    prefect_home = tmp_path / "prefect"
    ensure_server(prefect_home, tmp_path / "server.log", idle_stop_s=3.0)
    watcher = int(server_state(prefect_home)["watcher_pid"])  # type: ignore[index]
    keep_running(prefect_home)  # what autopipe server start does to a running server
    assert wait_until(lambda: not alive(watcher), 10)
    time.sleep(6)
    state = server_state(prefect_home)
    assert state is not None and alive(int(state["pid"])) and state["idle_stop_s"] is None
    assert "runs until autopipe server stop" in status(tmp_path)
    assert stop_server(prefect_home)
