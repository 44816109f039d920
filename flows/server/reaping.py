"""Runs whose process died mid-run (a worker killed, a machine down): cleaned up and marked.

Such a run never reached its catalog transaction, so the catalog is already consistent; what
is left is the files it had created (its live file lists them), and its Prefect flow run,
which still says Running. Reaping removes the files and marks the flow run Crashed.
"""

from __future__ import annotations

import contextlib
import os
from uuid import UUID

import httpx
from prefect.client.orchestration import SyncPrefectClient
from prefect.exceptions import PrefectException
from prefect.states import Crashed

from flows.core.config import Settings
from flows.core.live_runs import LiveState, live_runs, remove_created

DIED = "the process running it died (its worker was killed or its machine went down)"


def reap_stopped_runs(settings: Settings, api: str | None = None) -> list[LiveState]:
    """Clean up every stopped run of this host; return their live states. Their flow runs
    are marked on the Prefect server at ``api`` (default: PREFECT_API_URL), if there is one."""
    reaped = []
    for state in live_runs(settings.live_dir):
        if state.status != "stopped":
            continue
        remove_created(state)
        if state.flow_run_id:
            mark_crashed(UUID(state.flow_run_id), api)
        (settings.live_dir / f"{state.run_id}.json").unlink(missing_ok=True)
        reaped.append(state)
    return reaped


def mark_crashed(flow_run_id: UUID, api: str | None = None) -> None:
    """Crashed, unless the server already holds a final state (or cannot be reached, or no
    server is configured: the run stays as it is and the next reaping tries again). Never
    Prefect's ephemeral server: starting one to mark a run would take seconds, for nothing."""
    api = api or os.environ.get("PREFECT_API_URL")
    if not api:
        return
    with contextlib.suppress(PrefectException, httpx.HTTPError), SyncPrefectClient(api) as client:
        state = client.read_flow_run(flow_run_id).state
        if state is None or not state.is_final():
            client.set_flow_run_state(flow_run_id, Crashed(message=DIED), force=True)
