"""prefect.yaml: every deployment names a flow that exists, with parameters it accepts."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import yaml
from prefect import Flow

ROOT = Path(__file__).resolve().parents[2]


def test_each_deployment_points_at_a_flow_with_its_parameters() -> None:
    document = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    deployments = {d["name"]: d for d in document["deployments"]}
    assert set(deployments) == {"train", "train-slice", "monitor", "retrain", "package"}
    for deployment in deployments.values():
        path, name = deployment["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, name)
        assert isinstance(flow, Flow) and flow.name == deployment["name"]
        accepted = set(inspect.signature(flow.fn).parameters)
        assert set(deployment.get("parameters") or {}) <= accepted
        assert deployment["work_pool"]["name"] == "autopipe"
    [schedule] = deployments["monitor"]["schedules"]
    assert schedule["interval"] == 900 and schedule["active"]


def test_slices_go_to_their_own_queue_and_the_train_deployment_fans_out_to_them() -> None:
    document = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    deployments = {d["name"]: d for d in document["deployments"]}
    from flows.server.slice_jobs import SLICE_DEPLOYMENT
    from flows.server.workers import SLICE_QUEUE, TRAIN_QUEUE

    assert deployments["train"]["parameters"]["slice_deployment"] == SLICE_DEPLOYMENT
    assert deployments["train-slice"]["work_pool"]["work_queue_name"] == SLICE_QUEUE
    assert {d["work_pool"]["work_queue_name"] for n, d in deployments.items()
            if n != "train-slice"} == {TRAIN_QUEUE}
