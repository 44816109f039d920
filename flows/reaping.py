"""Runs whose process died mid-run (a worker killed, a machine down): cleaned up and marked.

Such a run never reached its catalog transaction, so the catalog is already consistent; what
is left is the files it had created (its live file lists them), and its Prefect flow run,
which still says Running. Reaping removes the files and marks the flow run Crashed.
"""

from __future__ import annotations

import contextlib
from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import get_client
from prefect.exceptions import PrefectException
from prefect.states import Crashed

from flows.core.config import Settings
from flows.core.live_runs import live_runs, remove_created

DIED = "the process running it died (its worker was killed or its machine went down)"


def reap_stopped_runs(settings: Settings) -> list[dict[str, Any]]:
    """Clean up every stopped run of this host; return their live states."""
    reaped = []
    for state in live_runs(settings.live_dir):
        if state["status"] != "stopped":
            continue
        remove_created(state)
        if state.get("flow_run_id"):
            mark_crashed(UUID(state["flow_run_id"]))
        (settings.live_dir / f"{state['run_id']}.json").unlink(missing_ok=True)
        reaped.append(state)
    return reaped


def mark_crashed(flow_run_id: UUID) -> None:
    """Crashed, unless the server already holds a final state (or cannot be reached: the run
    stays as it is and the next reaping tries again)."""
    with contextlib.suppress(PrefectException, httpx.HTTPError), \
            get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run_id).state
        if state is None or not state.is_final():
            client.set_flow_run_state(flow_run_id, Crashed(message=DIED), force=True)
