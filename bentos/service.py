"""The prediction service: a thin BentoML shell over a release's fitted pipelines.

It serves the release file named by AUTOPIPE_RELEASE (``release/release.json`` inside a
packaged Bento): each slice's champion, loaded at start-up (``/readyz`` answers once the
service is up, which is after loading), and swapped without a restart when a promotion or a
rollback rewrites the file. Each batch is validated against the training schema (4xx naming
the field, never a 500) and every answered record is appended to the prediction log. It never
opens the DuckDB catalog: the monitor reads the log files instead.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any, NoReturn

import bentoml
import numpy as np
from bentoml.exceptions import InvalidArgument
from threadpoolctl import threadpool_limits

from bentos.json_only import JsonOnly
from flows.core.config import Settings
from flows.core.errors import AutopipeError
from flows.core.evaluation.explain import contributions
from flows.core.registry.model import FittedModel
from flows.core.serving.live_release import LiveRelease, Route
from flows.core.serving.prediction_log import PredictionLog

RELEASE_IN_BENTO = "release/release.json"
"""Where a Bento carries its release; ``autopipe serve`` names another in AUTOPIPE_RELEASE."""
MAX_RECORDS = 10_000


# The worker count is the one setting read at import: BentoML takes it from the decorator.
@bentoml.service(name="autopipe", traffic={"timeout": 60}, workers=Settings().serve.workers)
class Autopipe:
    def __init__(self) -> None:
        """Built when a worker starts: the settings, the release and the log are read then."""
        # One OpenMP thread per worker: a request is a few rows, and every worker spinning up a
        # pool on the same two cores stalled requests for up to a second (p99, measured).
        self._one_thread = threadpool_limits(limits=1)
        settings = Settings()
        self.release = LiveRelease(Path(os.environ.get("AUTOPIPE_RELEASE", RELEASE_IN_BENTO)))
        self.log = PredictionLog(settings.prediction_logs_dir)

    # Async on purpose, computing inline: a request is milliseconds of CPU, and handing it to
    # a thread pool let the GIL starve some requests for seconds under 8 concurrent clients
    # (p99 7.6 s measured); inline, each worker answers in arrival order.
    @bentoml.api
    async def predict(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Per record: the prediction, class probabilities, slice and model version."""
        return self._answer(records, explain=False)

    @bentoml.api(route="/explain")
    async def explain(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """The predictions, plus each record's additive contribution per input field."""
        return self._answer(records, explain=True)

    def _answer(self, records: list[dict[str, Any]], explain: bool) -> dict[str, Any]:
        # One method behind both routes: an API method calling another deadlocks in BentoML.
        started = time.perf_counter()
        if len(records) > MAX_RECORDS:
            self._refuse(f"{len(records)} records in one request; at most {MAX_RECORDS}",
                         records)
        served = self.release.current()
        routes = served.route(records) or [Route("global", served.champions["global"], [])]
        results: list[dict[str, Any]] = [{} for _ in records]
        notes: list[str] = []
        for route in routes:
            group = [records[i] for i in route.indices]
            try:
                outputs, encoded = served.paths[route.model.version].outputs(group)
            except AutopipeError as exc:
                self._refuse(str(exc), records)
            answered = _results(route.model, outputs, route.slice)
            if explain or (route.model.policy or {}).get("explanations_required"):
                _add_explanations(route.model, group, answered)
            for index, result in zip(route.indices, answered, strict=True):
                results[index] = result
            notes += _notes(route, group, encoded.unseen)
        request_id = uuid.uuid4().hex
        self.log.append(request_id, records, results,
                        latency_ms=(time.perf_counter() - started) * 1000)
        versions = sorted({r["model_version"] for r in results})
        return {"request_id": request_id,
                "model_version": versions[0] if len(versions) == 1 else None,
                "model_versions": versions, "results": results, "notes": notes}

    def _refuse(self, reason: str, records: list[dict[str, Any]]) -> NoReturn:
        """Log the refusal (the monitor's rejected-request rate), then answer 400."""
        self.log.reject(reason, len(records))
        raise InvalidArgument(reason)

    @bentoml.api(route="/metadata")
    def metadata(self) -> dict[str, Any]:
        """The release, its models and the input schema the service validates against."""
        served = self.release.current()
        model = served.champions["global"]
        return {"release": served.document.get("family"),
                "updated_at": served.document.get("updated_at"),
                "champions": served.document["champions"], "model_version": model.version,
                "task": model.task.value, "target": model.target, "learner": model.learner,
                "classes": model.class_names, "input_schema": model.input_schema}


Autopipe.add_asgi_middleware(JsonOnly)  # type: ignore[attr-defined]  # a bentoml Service


def _results(model: FittedModel, outputs: np.ndarray, slice_name: str) -> list[dict[str, Any]]:
    """Per record: prediction, class probabilities, slice and model version."""
    results = []
    for label, row in zip(model.labels(outputs), outputs, strict=True):
        result: dict[str, Any] = {
            "prediction": label.item() if hasattr(label, "item") else label,
            "slice": slice_name, "model_version": model.version}
        if model.class_names:
            result["probabilities"] = dict(zip(model.class_names, row.tolist(), strict=True))
        results.append(result)
    return results


def _add_explanations(model: FittedModel, records: list[dict[str, Any]],
                      results: list[dict[str, Any]]) -> None:
    explained = contributions(model, model.frame_from_records(records), model.reference_row)
    for result, explanation in zip(results, explained, strict=True):
        result["explanation"] = {"output": explanation.output,
                                 "contributions": explanation.as_dict()}


def _notes(route: Route, records: list[dict[str, Any]],
           unseen: dict[str, list[str]]) -> list[str]:
    """What the service accepted but the caller should know: slices without a model of their
    own, fields the model ignores, and categories training never saw."""
    model = route.model
    notes = [f"no model for slice {name!r}: answered by the global model"
             for name in sorted(route.unknown)]
    extra = sorted({key for record in records for key in record} - set(model.input_schema))
    if extra:
        notes.append(f"fields the {_whose(route)} model does not use were ignored: "
                     f"{', '.join(extra)}")
    notes += [f"unseen categories in {column!r} (treated as unknown): {', '.join(values[:5])}"
              for column, values in unseen.items()]
    return notes


def _whose(route: Route) -> str:
    return "global" if route.slice == "global" else f"{route.slice!r}"
