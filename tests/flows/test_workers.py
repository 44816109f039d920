"""Deployments on a real Prefect server (SQLite, 127.0.0.1) with real process workers.

``autopipe server start --workers 2`` deploys prefect.yaml and starts one run worker and two
slice workers in a home of this module's own; runs are submitted with ``autopipe run
--remote``, as a user would. Everything is torn down at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from flows.core.config import Settings
from flows.core.store.catalog import Catalog
from flows.server.slice_jobs import SLICE_DEPLOYMENT
from flows.server.workers import running_workers
from tests.conftest import SAMPLES, tree

pytestmark = pytest.mark.slow
AUTOPIPE = str(Path(sys.executable).with_name("autopipe"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, str]]:
    home = tmp_path_factory.mktemp("cluster")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AUTOPIPE_"))}
    env |= {"AUTOPIPE_HOME": str(home), "AUTOPIPE_SEARCH__TEXT_FEATURES": "tfidf"}
    started = subprocess.run([AUTOPIPE, "server", "start", "--workers", "2"], env=env,
                             capture_output=True, text=True, timeout=300)
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip().splitlines()[-1]
    settings = Settings(home=home)
    try:
        yield settings, url
    finally:
        stopped = subprocess.run([AUTOPIPE, "server", "stop"], env=env, capture_output=True,
                                 text=True, timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        assert not running_workers(settings.prefect_home)


def autopipe(settings: Settings, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AUTOPIPE_"))}
    env |= {"AUTOPIPE_HOME": str(settings.root)}
    return subprocess.Popen([AUTOPIPE, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def flow_runs(url: str) -> list[dict[str, Any]]:
    """Every flow run on the server, with its deployment's name and its parent flow run."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}), \
            get_client(sync_client=True) as client:
        runs = client.read_flow_runs()
        deployments = {d.id: d.name for d in client.read_deployments()}
        parents = {t.id: t.flow_run_id for t in client.read_task_runs()}
    return [{"id": str(r.id), "name": r.name, "state": r.state,
             "deployment": deployments.get(r.deployment_id) if r.deployment_id else None,
             "parent": parents.get(r.parent_task_run_id) if r.parent_task_run_id else None,
             "queue": r.work_queue_name, "start": r.start_time, "end": r.end_time}
            for r in runs]


def slices_trained(url: str, flow_run_ids: list[str]) -> dict[str, list[str]]:
    """Which slices each flow run trained, from the log lines it sent to the server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    trained: dict[str, list[str]] = {}
    deadline = time.monotonic() + 30  # logs are sent in batches
    while time.monotonic() < deadline and len(trained) < len(flow_run_ids):
        with temporary_settings(updates={PREFECT_API_URL: url}), \
                get_client(sync_client=True) as client:
            logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(
                any_=[UUID(i) for i in flow_run_ids])))
        trained = {}
        for log in logs:
            if log.message.startswith("training slice "):
                trained.setdefault(str(log.flow_run_id), []).append(
                    log.message.removeprefix("training slice "))
        time.sleep(0.5)
    return trained


def test_a_remote_run_spreads_its_slices_over_two_workers(cluster: tuple[Settings, str]) -> None:
    """A budget, not a model count: each slice then trains for its share of it (~20 s and
    ~10 s), longer than a worker takes to start its flow run even on a loaded machine, so the
    first worker cannot finish one slice and take the other before the second has started."""
    settings, url = cluster
    process = autopipe(settings, "run", str(SAMPLES / "titanic.csv"), "--target", "survived",
                       "--budget", "30", "--slice-by", "sex", "--min-slice-rows", "100",
                       "--remote", "--json")
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    summary = json.loads(stdout)

    # The parent ran on the run worker as the train deployment, and recorded the run.
    catalog = Catalog(settings.catalog_path)
    runs = flow_runs(url)
    [parent] = [r for r in runs if r["deployment"] == "train"]
    assert parent["state"].is_completed()
    assert catalog.run_of_flow_run(parent["id"]) == summary["run_id"]
    assert catalog.model(summary["model_version"]) is not None
    assert summary["metrics"]["roc_auc"] > 0.7

    # The slices were trained by train-slice flow runs, children of the parent on the slice
    # queue: two of them, one slice each, at the same time (on the two workers).
    children = [r for r in runs if r["deployment"] == SLICE_DEPLOYMENT.split("/")[1]]
    assert all(str(r["parent"]) == parent["id"] and r["queue"] == "slices" for r in children)
    trained = slices_trained(url, [r["id"] for r in children if r["state"].is_completed()])
    assert sorted(trained.values()) == [["sex=female"], ["sex=male"]]
    pair = [r for r in children if r["id"] in trained]
    assert max(r["start"] for r in pair) < min(r["end"] for r in pair)

    # Only the parent wrote the catalog: both slice models are registered with its run.
    slices = {s["slice"]: s for s in summary["slices"]}
    assert set(slices) == {"sex=female", "sex=male"}
    for item in slices.values():
        model = catalog.model(item["model_version"])
        assert model is not None and model.run_id == summary["run_id"]
    stages = {s["stage"] for s in summary["stages"]}
    assert {"slice sex=female", "slice sex=male"} <= stages
    assert not list(settings.work_dir.glob("*/*")) and not list(settings.live_dir.glob("*"))
    # The worker read the source from the shared home (a worker elsewhere sees only that).
    [copy] = settings.inbox_dir.glob("*/titanic.csv")
    assert copy.read_bytes() == (SAMPLES / "titanic.csv").read_bytes()


def test_runs_that_stop_reporting_are_crashed_by_a_server_automation(
        cluster: tuple[Settings, str]) -> None:
    """The cross-host path for a dead worker (reaping only sees this host's processes)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.server.workers import ZOMBIE_AFTER_S, ZOMBIE_AUTOMATION

    _, url = cluster
    with temporary_settings(updates={PREFECT_API_URL: url}), \
            get_client(sync_client=True) as client:
        [automation] = client.read_automations_by_name(ZOMBIE_AUTOMATION)
    assert automation.enabled
    assert automation.trigger.within.total_seconds() == ZOMBIE_AFTER_S  # type: ignore[union-attr]
    assert [a.state.value for a in automation.actions] == ["CRASHED"]  # type: ignore[union-attr]


def run_on_worker(url: str, deployment: str, **parameters: Any) -> Any:
    """A flow run of the deployment, waited for; its final state."""
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}):
        flow_run: Any = run_deployment(deployment, parameters=parameters, timeout=300,
                                       poll_interval=1, as_subflow=False)
    return flow_run.state


def test_the_package_deployment_builds_the_release_into_a_bento_on_the_worker(
        cluster: tuple[Settings, str]) -> None:
    settings, url = cluster
    champion = Catalog(settings.catalog_path).aliases("titanic")[("", "champion")]
    state = run_on_worker(url, "package/package", dataset="titanic")
    assert state is not None and state.is_completed(), state
    [release] = (settings.bentoml_home / "bentos" / "autopipe-titanic").glob(
        "*/src/release/release.json")
    assert json.loads(release.read_text())["champions"]["global"] == champion


def test_the_monitor_deployment_runs_on_the_worker(cluster: tuple[Settings, str]) -> None:
    """Nothing was served yet: the check completes and finds no traffic to judge."""
    settings, url = cluster
    state = run_on_worker(url, "monitor/monitor", hours=24)
    assert state is not None and state.is_completed(), state
    assert Catalog(settings.catalog_path).table_counts()["prediction_log"] == 0


def test_a_worker_killed_mid_run_leaves_the_catalog_as_it_was(
        cluster: tuple[Settings, str]) -> None:
    settings, url = cluster
    catalog = Catalog(settings.catalog_path)
    counts, files = catalog.table_counts(), tree(settings.datasets_dir) | tree(
        settings.models_dir)
    follower = autopipe(settings, "run", str(SAMPLES / "penguins.csv"), "--target", "species",
                        "--budget", "120", "--remote", "--json")
    live = _wait_for_portfolio(settings.live_dir)
    assert live["created"], "the run had created its dataset snapshot"

    # The machine goes down: the run worker and the flow run it started die at once.
    [worker] = [w for w in running_workers(settings.prefect_home) if w["queue"] == "default"]
    os.killpg(int(str(worker["pid"])), signal.SIGKILL)
    os.killpg(int(live["pid"]), signal.SIGKILL)

    stdout, stderr = follower.communicate(timeout=120)
    assert follower.returncode == 2 and "died" in stderr and not stdout
    [run] = [r for r in flow_runs(url) if r["id"] == live["flow_run_id"]]
    assert run["state"].type.value == "CRASHED"
    assert catalog.table_counts() == counts
    assert catalog.run_of_flow_run(live["flow_run_id"]) is None
    assert tree(settings.datasets_dir) | tree(settings.models_dir) == files
    assert not list(settings.live_dir.glob("*"))


def _wait_for_portfolio(live_dir: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        for path in live_dir.glob("*.json"):
            try:
                state = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # replaced while read
            if state["stage"] == "portfolio" and state.get("best"):
                UUID(state["flow_run_id"])
                return dict(state)
        time.sleep(0.2)
    raise AssertionError("the remote run never reached its portfolio")
