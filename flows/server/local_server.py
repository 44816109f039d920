"""A local Prefect server that outlives one command, so runs do not pay for a new one.

Without a configured API, every process that runs a flow starts a temporary Prefect server
(8-15 s here). Instead the first run starts ``prefect server start`` in the background under
autopipe's PREFECT_HOME and records its address; later runs find it in milliseconds.
``autopipe server stop`` ends it; a server a command started also stops by itself after a
time without flow runs (idle_stop.py), one started by ``autopipe server start`` is kept. A
user who sets PREFECT_API_URL keeps their own server.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil

from flows.core.errors import ServerError

STATE_FILE = "autopipe-server.json"
START_TIMEOUT_S = 90.0


def api_url(prefect_home: Path) -> str | None:
    """The address of a healthy server started for this home, or None."""
    state = server_state(prefect_home)
    if state and _healthy(state["url"]):
        return str(state["url"])
    return None


def ensure_server(prefect_home: Path, log_file: Path, idle_stop_s: float | None = None) -> str:
    """Return the API address of this home's server, starting one if none answers; a server
    started here with ``idle_stop_s`` stops after that long without a flow run."""
    with _state_lock(prefect_home):
        url = api_url(prefect_home)
        if url:
            return url
        return _start(prefect_home, log_file, idle_stop_s)


def keep_running(prefect_home: Path) -> None:
    """The running server no longer stops by itself (``autopipe server start``)."""
    with _state_lock(prefect_home):
        state = server_state(prefect_home)
        if state is None or not state.get("watcher_pid"):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(state["watcher_pid"]), signal.SIGTERM)
        _write_state(prefect_home, state | {"idle_stop_s": None, "watcher_pid": None})


def stop_server(prefect_home: Path, grace_s: float = 10.0, pid: int | None = None) -> bool:
    """Stop this home's server (SIGTERM, then SIGKILL) if it is the one of ``pid`` (any,
    without); True if one was running. Under the state lock, so a command that is about to
    use the server either finds it gone and starts another, or uses it before it stops."""
    with _state_lock(prefect_home):
        state = server_state(prefect_home)
        if state is None or (pid is not None and int(state["pid"]) != pid):
            return False
        (prefect_home / STATE_FILE).unlink(missing_ok=True)
        if state.get("watcher_pid") and int(state["watcher_pid"]) != os.getpid():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(state["watcher_pid"]), signal.SIGTERM)
        return stop_process_group(int(state["pid"]), grace_s)


def stop_process_group(pid: int, grace_s: float) -> bool:
    """SIGTERM a process group, then SIGKILL what is left after ``grace_s`` (a Prefect worker
    may survive its first SIGTERM); True if it was running."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _state_lock(prefect_home: Path) -> Iterator[None]:
    prefect_home.mkdir(parents=True, exist_ok=True)
    with (prefect_home / (STATE_FILE + ".lock")).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _start(prefect_home: Path, log_file: Path, idle_stop_s: float | None) -> str:
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env |= {"PREFECT_HOME": str(prefect_home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false", "DO_NOT_TRACK": "1"}
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [prefect_executable(), "server", "start", "--host", "127.0.0.1",
             "--port", str(port), "--no-ui"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"the local Prefect server exited with code {process.returncode}",
                              f"see {log_file} for its output")
        if _healthy(url):
            watcher = _start_watcher(prefect_home, url, process.pid, idle_stop_s,
                                     log_file) if idle_stop_s else None
            _write_state(prefect_home, {"pid": process.pid, "url": url,
                                        "started_at": time.time(), "idle_stop_s": idle_stop_s,
                                        "watcher_pid": watcher})
            return url
        time.sleep(0.25)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    raise ServerError(f"the local Prefect server did not answer within {START_TIMEOUT_S:g} s",
                      f"see {log_file}; or start one yourself and set PREFECT_API_URL")


def _start_watcher(prefect_home: Path, url: str, server_pid: int, idle_s: float,
                   log_file: Path) -> int:
    """The idle watcher of a server (idle_stop.py), in a session of its own; its pid."""
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "flows.server.idle_stop", str(prefect_home), url,
             str(server_pid), str(idle_s)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    return process.pid


def prefect_executable() -> str:
    beside = Path(sys.executable).with_name("prefect")
    found = str(beside) if beside.exists() else shutil.which("prefect")
    if not found:
        raise ServerError("the prefect command is not installed",
                          "install autopipe with pip install -e . in this environment")
    return found


def server_state(prefect_home: Path) -> dict[str, Any] | None:
    """This home's running server: pid, url, started_at and, when it stops once idle,
    idle_stop_s and the watcher's pid; None when none runs."""
    try:
        state: dict[str, Any] = json.loads((prefect_home / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return state if alive(int(state.get("pid", 0))) else None


def _write_state(prefect_home: Path, state: dict[str, Any]) -> None:
    (prefect_home / STATE_FILE).write_text(json.dumps(state))


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting for its parent to reap it."""
    try:
        return pid > 0 and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _healthy(url: object) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False
