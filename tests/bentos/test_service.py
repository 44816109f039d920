"""The BentoML service: in-process, through its ASGI app, and as a real ``bentoml serve``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from flows.core.config import Settings
from flows.core.records.run import RunSummary
from flows.core.registry.model import FittedModel, load_model
from flows.core.store.catalog import Catalog
from flows.server.local_server import free_port
from flows.server.service import start_service, stop_service, wait_ready
from tests.conftest import SAMPLES

PASSENGERS = pd.read_csv(SAMPLES / "titanic.csv").drop(columns=["survived"]).head(25)


def records() -> list[dict[str, Any]]:
    """JSON-ready records as a client would send them (missing values as null)."""
    return json.loads(PASSENGERS.to_json(orient="records"))


@pytest.fixture(scope="module")
def binary_model(trained: dict[str, RunSummary]) -> FittedModel:
    version = trained["binary"].model_version
    return load_model(Catalog(Settings().catalog_path).model(version).artifact_path)


def expected(model: FittedModel) -> pd.DataFrame:
    return model.predict_frame(model.frame_from_records(records()))


def test_service_class_predicts_like_the_model(service_module: Any,
                                               binary_model: FittedModel) -> None:
    service = service_module.Autopipe()
    answer = asyncio.run(service.predict(records=records()))
    want = expected(binary_model)
    assert answer["model_version"] == binary_model.version
    assert {r["slice"] for r in answer["results"]} == {"global"}
    assert {r["model_version"] for r in answer["results"]} == {binary_model.version}
    # Every field is the model's; a ticket the training part never had is named, not refused.
    assert all(n.startswith("unseen categories in 'ticket'") for n in answer["notes"])
    assert [r["prediction"] for r in answer["results"]] == want["prediction"].tolist()
    assert [r["probabilities"]["1"] for r in answer["results"]] == pytest.approx(
        want["1"].tolist())


def test_asgi_app_validates_and_logs(service_app: Any, binary_model: FittedModel) -> None:
    from starlette.testclient import TestClient

    before, refused = log_lines(), log_lines("rejections")
    with TestClient(service_app) as client:
        ok = client.post("/predict", json={"records": records()[:3]})
        assert ok.status_code == 200
        assert len(ok.json()["results"]) == 3
        missing = client.post("/predict", json={"records": [{"pclass": 1}]})
        assert missing.status_code == 400 and "missing required field" in missing.text
        wrong_type = client.post("/predict", json={"records": [
            records()[0] | {"age": "old"}]})
        assert wrong_type.status_code == 400 and "'age' must be a number" in wrong_type.text
        empty = client.post("/predict", json={"records": []})
        assert empty.status_code == 400 and "no records" in empty.text
        malformed = client.post("/predict", content=b"{not json",
                                headers={"content-type": "application/json"})
        assert 400 <= malformed.status_code < 500
        metadata = client.post("/metadata").json()
        assert metadata["input_schema"] == binary_model.input_schema
        assert metadata["champions"] == {"global": binary_model.version}
        extra = client.post("/predict", json={"records": [
            records()[0] | {"colour": "red", "embarked": "Atlantis"}]})
        notes = extra.json()["notes"]
        assert extra.status_code == 200 and "ignored: colour" in notes[0]
        assert any("unseen categories in 'embarked'" in n and "Atlantis" in n for n in notes)
        explained = client.post("/explain", json={"records": records()[:2]})
        assert explained.status_code == 200, explained.text
        explanation = explained.json()["results"][0]["explanation"]
        assert set(binary_model.input_schema) <= set(explanation["contributions"])
        assert explanation["output"]
        assert client.get("/readyz").status_code == 200
    assert log_lines() - before == 3 + 1 + 2  # answered records
    assert log_lines("rejections") - refused == 3  # missing field, wrong type, empty batch


def log_lines(kind: str = "predictions") -> int:
    log_dir = Settings().prediction_logs_dir
    return sum(1 for f in log_dir.glob(f"{kind}-*.jsonl") for _ in f.open()) \
        if log_dir.exists() else 0


@pytest.mark.slow
def test_real_bentoml_serve_answers_like_in_process_and_a_kill_loses_no_answer(
        trained: dict[str, RunSummary], binary_model: FittedModel, tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = start_service(Settings(), Path(trained["binary"].release), "127.0.0.1", port,
                            tmp_path / "service.log")
    try:
        wait_ready(process, base_url, timeout_s=90)
        before = log_lines()
        response = httpx.post(f"{base_url}/predict", json={"records": records()}, timeout=30)
        assert response.status_code == 200, response.text
        answer = response.json()
        bad = httpx.post(f"{base_url}/predict", json={"records": [{"pclass": "x"}]}, timeout=30)
        assert bad.status_code == 400
        metrics = httpx.get(f"{base_url}/metrics", timeout=10)
        assert metrics.status_code == 200 and "bentoml_service_request" in metrics.text
        stop_service(process, hard=True)  # SIGKILL every process: no shutdown, no flush
        assert log_lines() - before == len(records())
    finally:
        stop_service(process)
    want = expected(binary_model)
    assert answer["model_version"] == trained["binary"].model_version
    assert [r["prediction"] for r in answer["results"]] == want["prediction"].tolist()
    assert [r["probabilities"]["0"] for r in answer["results"]] == pytest.approx(
        want["0"].tolist(), abs=1e-9)
