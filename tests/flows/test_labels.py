"""Class labels end to end: a Yes/No target trained by ``autopipe run`` comes back as Yes/No
from ``autopipe predict``, and a labels file's other spellings find those classes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.core.config import Settings
from flows.core.registry.model import FittedModel, load_model
from flows.core.serving.prediction_log import PredictionLog
from flows.core.store.catalog import Catalog
from tests.flows.test_cli import cli


def log_answers(model: FittedModel, records: list[dict[str, object]]) -> str:
    """Answer ``records`` with ``model`` and log them as the service does; the request id."""
    answered = model.predict_frame(model.frame_from_records(records))
    request_id = uuid.uuid4().hex
    PredictionLog(Settings().prediction_logs_dir).append(request_id, records, [
        {"prediction": row["prediction"], "slice": "global", "model_version": model.version,
         "probabilities": {c: float(row[c]) for c in model.class_names}}
        for row in answered.to_dict("records")], latency_ms=1.0)
    return request_id


def test_a_yes_no_target_is_trained_predicted_and_labelled_as_written(
        prefect_api: str, fresh_home: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=120).round(3)
    churned = x + rng.normal(scale=0.5, size=120) > 0  # not so clean that x is a leak
    table = pd.DataFrame({"x": x, "colour": rng.choice(["red", "blue"], 120),
                          "churned": np.where(churned, "Yes", "No")})
    table.to_csv(tmp_path / "churn.csv", index=False)
    code, out, err = cli(["run", str(tmp_path / "churn.csv"), "-t", "churned", "--budget", "3",
                          "--json"], capsys)
    assert code == 0, err
    catalog = Catalog(Settings().catalog_path)
    model = load_model(catalog.model(json.loads(out)["model_version"]).artifact_path)
    assert model.classes == ("No", "Yes")

    table.drop(columns=["churned"]).to_csv(tmp_path / "score.csv", index=False)
    code, _, err = cli(["predict", str(tmp_path / "score.csv"), "--out",
                        str(tmp_path / "scored.csv")], capsys)
    assert code == 0, err
    scored = pd.read_csv(tmp_path / "scored.csv")
    assert list(scored.columns) == ["prediction", "No", "Yes"]
    assert set(scored["prediction"]) == {"No", "Yes"}

    records = json.loads(table.drop(columns=["churned"]).head(4).to_json(orient="records"))
    request_id = log_answers(model, records)
    pd.DataFrame({"request_id": request_id, "index": range(4),
                  "churned": ["yes", "TRUE", " no", "n"]}).to_csv(tmp_path / "labels.csv",
                                                                  index=False)
    code, out, err = cli(["labels", str(tmp_path / "labels.csv"), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["matched"] == 4
    stored = catalog.labelled_predictions().sort("idx")
    assert [json.loads(label) for label in stored["label"]] == ["Yes", "Yes", "No", "No"]
    predicted = [json.loads(result)["prediction"] for result in stored["result"]]
    assert stored["corrected"].to_list() == [
        label != guess for label, guess in zip(["Yes", "Yes", "No", "No"], predicted,
                                               strict=True)]
