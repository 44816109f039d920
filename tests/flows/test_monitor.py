"""Monitoring end to end: a real ``bentoml serve`` answers traffic, ``monitor`` reads its logs
into the catalog, and a drift alert fires for the shifted feature only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import polars as pl
import pytest

from flows.core.config import Settings
from flows.core.monitoring.drift import Thresholds
from flows.core.monitoring.monitor import run_monitor
from flows.core.records.run import RunSummary
from flows.core.store.catalog import Catalog
from flows.server.local_server import free_port
from flows.server.service import start_service, stop_service, wait_ready
from tests.conftest import SAMPLES
from tests.flows.test_cli import cli

ROWS = 300


def traffic(shift_fare: bool) -> list[dict[str, Any]]:
    frame = pd.read_csv(SAMPLES / "titanic.csv").drop(columns=["survived"])
    rows = frame.sample(ROWS, random_state=1 if shift_fare else 2)
    if shift_fare:
        rows = rows.assign(fare=rows["fare"] * 6 + 80)
    return json.loads(rows.to_json(orient="records"))


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@pytest.mark.slow
def test_drift_alert_fires_for_the_shifted_feature_and_slice_only(
        trained: dict[str, RunSummary], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    service_home = Settings(home=tmp_path / "service")  # its own prediction logs
    logs = service_home.prediction_logs_dir
    catalog = Catalog(Settings().catalog_path)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = start_service(service_home, Path(trained["binary"].release), "127.0.0.1",
                            port, tmp_path / "service.log")
    try:
        wait_ready(process, base_url, timeout_s=90)
        calm_since = now()
        for start in range(0, ROWS, 100):
            httpx.post(f"{base_url}/predict", timeout=30, json={
                "records": traffic(False)[start:start + 100]}).raise_for_status()
        calm = run_monitor(catalog, logs, Thresholds(), calm_since)
        again = run_monitor(catalog, logs, Thresholds(), calm_since)
        shifted_since = now()
        refused = httpx.post(f"{base_url}/predict", timeout=30,
                             json={"records": [{"pclass": "first"}]})
        for start in range(0, ROWS, 100):
            httpx.post(f"{base_url}/predict", timeout=30, json={
                "records": traffic(True)[start:start + 100]}).raise_for_status()
        shifted = run_monitor(catalog, logs, Thresholds(), shifted_since)
    finally:
        stop_service(process)
    assert calm.ingested == ROWS and again.ingested == 0  # idempotent
    assert calm.alert_ids == [] and calm.groups[0].quality == []
    assert (calm.health.answered, calm.health.rejected) == (3, 0)
    assert calm.health.latency_ms["p50"] > 0
    assert refused.status_code == 400 and shifted.health.rejected == 1
    assert [(g.slice, g.rows) for g in calm.groups] == [("global", ROWS)]
    drifted = [d.feature for d in shifted.groups[0].features if d.drifted]
    assert drifted == ["fare"]
    alerts = catalog.alerts().filter(pl.col("alert_id").is_in(shifted.alert_ids))
    assert set(alerts.filter(feature="fare")["kind"]) == {"drift", "out_of_range"}
    fare = alerts.filter(feature="fare", kind="drift").row(0, named=True)
    assert (fare["kind"], fare["slice"], fare["status"]) == ("drift", "global", "open")
    assert fare["model_version"] == trained["binary"].model_version
    code, out, _ = cli(["alerts", "ack", fare["alert_id"], "--note", "looking",
                        "--assignee", "ana"], capsys)
    assert code == 0 and "open -> acknowledged" in out
    code, _, _ = cli(["alerts", "resolve", fare["alert_id"], "--note", "fare feed fixed"],
                     capsys)
    stored = catalog.alerts().filter(alert_id=fare["alert_id"]).row(0, named=True)
    assert (stored["status"], stored["assignee"]) == ("resolved", "ana")
    assert [n["note"] for n in json.loads(stored["notes"])] == ["looking", "fare feed fixed"]


def test_retrain_without_labels_says_how_to_get_them(
        trained: dict[str, RunSummary], capsys: pytest.CaptureFixture[str]) -> None:
    catalog = Catalog(Settings().catalog_path)
    before = catalog.table_counts()
    code, _, err = cli(["retrain", "--dataset", trained["binary"].dataset], capsys)
    assert code == 2 and "no labelled predictions" in err and "autopipe labels" in err
    assert catalog.table_counts() == before
