"""Start, wait for and stop a real ``bentoml serve`` of ``bentos/service.py``.

Used by ``autopipe serve`` and ``autopipe demo``, by the integration tests and the benchmarks,
so all of them exercise the same process the user runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from flows.core.config import Settings
from flows.core.errors import ServerError
from flows.server.environment import tool_environment

SERVICE_IMPORT = "bentos.service:Autopipe"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def service_command(host: str, port: int) -> list[str]:
    bentoml = Path(sys.executable).with_name("bentoml")
    return [str(bentoml), "serve", SERVICE_IMPORT, "--host", host, "--port", str(port),
            "--working-dir", str(PROJECT_ROOT)]


def service_environment(settings: Settings, release_file: Path) -> dict[str, str]:
    """Variables the user set win, as in :func:`flows.server.environment.apply`."""
    return tool_environment(settings) | dict(os.environ) | {
        "AUTOPIPE_HOME": str(settings.root), "AUTOPIPE_RELEASE": str(release_file)}


def start_service(settings: Settings, release_file: Path, host: str, port: int,
                  log_file: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``bentoml serve`` in the background (its own process group)."""
    output = log_file.open("ab") if log_file else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            service_command(host, port), env=service_environment(settings, release_file),
            stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    finally:
        if log_file:
            output.close()  # type: ignore[union-attr]


def wait_ready(process: subprocess.Popen[bytes], base_url: str, timeout_s: float = 60.0) -> None:
    """Block until ``/readyz`` answers 200; fail clearly if the service dies first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"the prediction service exited with code {process.returncode}",
                              "run 'autopipe serve' to see its output")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/readyz", timeout=1.0).status_code == 200:
                return
        time.sleep(0.2)
    stop_service(process)
    raise ServerError(f"the prediction service was not ready within {timeout_s:g} s",
                      "run 'autopipe serve' to see its output")


def stop_service(process: subprocess.Popen[bytes], grace_s: float = 10.0,
                 hard: bool = False) -> None:
    """Stop the service and every process it started: SIGTERM (SIGKILL with ``hard``, as a
    crash would), then SIGKILL what is left after ``grace_s``.

    BentoML's workers do not all stay in the server's process group, so the tree is collected
    first: signalling the group alone left workers running after the server was gone."""
    tree = _process_tree(process.pid)
    for member in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
    _, alive = psutil.wait_procs(tree, timeout=grace_s)
    for member in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    psutil.wait_procs(alive, timeout=grace_s)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)


def _process_tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
