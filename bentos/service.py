"""The prediction service: a thin BentoML shell over the exact fitted pipeline.

It loads one model from the BentoML store at start-up (AUTOPIPE_MODEL_TAG, default the newest
``autopipe-model``), validates each batch against the training schema (4xx naming the field,
never a 500), and appends every answered record to the prediction log. It never opens the
DuckDB catalog: the monitor reads the log files instead.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import bentoml
from bentoml.exceptions import InvalidArgument

from bentos.build import MODEL_NAME
from bentos.prediction_log import PredictionLog
from flows.core.errors import AutopipeError
from flows.core.model import ARTIFACT_FILE, load_model

MODEL_TAG = os.environ.get("AUTOPIPE_MODEL_TAG", f"{MODEL_NAME}:latest")
MAX_RECORDS = 10_000


@bentoml.service(name="autopipe", traffic={"timeout": 60})
class Autopipe:
    model_ref = bentoml.models.BentoModel(MODEL_TAG)

    def __init__(self) -> None:
        self.model = load_model(Path(self.model_ref.path_of(ARTIFACT_FILE)))
        home = Path(os.environ.get("AUTOPIPE_HOME", "data"))
        self.log = PredictionLog(home / "logs" / "predictions")

    @bentoml.api
    def predict(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """One result per record: prediction, class probabilities and model version."""
        started = time.perf_counter()
        if len(records) > MAX_RECORDS:
            raise InvalidArgument(f"{len(records)} records in one request; at most {MAX_RECORDS}")
        try:
            features = self.model.frame_from_records(records)
        except AutopipeError as exc:
            raise InvalidArgument(str(exc)) from None
        predictions = self.model.predict_frame(features)
        version = self.model.version
        results = [_result(row, self.model.class_names, version)
                   for row in predictions.to_dict(orient="records")]
        request_id = uuid.uuid4().hex
        self.log.append(request_id, version, records, results,
                        latency_ms=(time.perf_counter() - started) * 1000)
        return {"request_id": request_id, "model_version": version, "results": results}

    @bentoml.api(route="/metadata")
    def metadata(self) -> dict[str, Any]:
        """The model version, task and the input schema the service validates against."""
        return {"model_version": self.model.version, "task": self.model.task.value,
                "target": self.model.target, "learner": self.model.learner,
                "classes": self.model.class_names, "input_schema": self.model.input_schema}


def _result(row: dict[str, Any], class_names: list[str], version: str) -> dict[str, Any]:
    prediction = row["prediction"]
    result: dict[str, Any] = {
        "prediction": prediction.item() if hasattr(prediction, "item") else prediction,
        "model_version": version,
    }
    if class_names:
        result["probabilities"] = {name: float(row[name]) for name in class_names}
    return result
