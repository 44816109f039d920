"""The model and its baselines measured on the held-out test part, which no fit has seen:
metrics, bootstrap intervals, importances, latency, and the rows the report draws from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from flows.core.evaluation.explain import (
    learner_importance,
    permutation_importance_raw,
    reference_values,
)
from flows.core.evaluation.metrics import classification_metrics, regression_metrics
from flows.core.preparation.prepared import PreparedData
from flows.core.records.card import Explanations
from flows.core.registry.card import bootstrap_intervals
from flows.core.registry.model import FittedModel
from flows.core.training.latency import SINGLE_ROW_CALLS, preprocessing_ms, timed_latency
from flows.core.types import Evaluation

BOOTSTRAP_RESAMPLES = 50
"""Enough for rough 95% intervals; each resample costs a full set of metrics (~40 ms at 10k
rows)."""
HELD_OUT_PREDICTIONS_MAX_ROWS = 100_000
EXPLAIN_SHARE = 0.5
"""Of the run's time left when explanations start, what permutation importance may take."""


def evaluate_model(model: FittedModel, prepared: PreparedData, role: str) -> Evaluation:
    """Score a model end to end (raw test rows through its own pipeline)."""
    features = prepared.split.x_test[list(model.input_schema)]
    y_test = prepared.split.y_test
    if model.task.is_classification:
        outputs = model.predict_proba(features)
        metrics = classification_metrics(y_test, outputs, model.task)
    else:
        outputs = np.asarray(model.pipeline.predict(features), dtype=float)
        metrics = regression_metrics(y_test, outputs)
    return Evaluation(role=role, learner=model.learner, metrics=metrics, outputs=outputs)


def reference_rows(prepared: PreparedData, max_rows: int, seed: int = 0) -> pd.DataFrame:
    """A sample of the training rows' model inputs: what live traffic is compared with."""
    rows = prepared.split.x_train[list(prepared.plan.input_schema)]
    return rows.sample(max_rows, random_state=seed) if len(rows) > max_rows else rows


def held_out_predictions(prepared: PreparedData, evaluations: Sequence[Evaluation],
                     max_rows: int = HELD_OUT_PREDICTIONS_MAX_ROWS,
                     seed: int = 0) -> pl.DataFrame:
    """The test rows' true values and every evaluated model's outputs (``role`` for a value,
    ``role:class`` for a probability), at most ``max_rows`` of them: what the run report's
    curves, confusion matrix and residuals are drawn from."""
    split = prepared.split
    columns: dict[str, Any] = {"y_true": split.y_test}
    for evaluation in evaluations:
        outputs = np.asarray(evaluation.outputs)
        if outputs.ndim == 1:
            columns[evaluation.role] = outputs
        else:
            for index, label in enumerate(split.classes):
                columns[f"{evaluation.role}:{label}"] = outputs[:, index]
    frame = pl.DataFrame(columns)
    if split.classes:
        frame = frame.with_columns(pl.Series("y_true", [str(split.classes[i])
                                                        for i in split.y_test]))
    return frame.sample(max_rows, seed=seed) if frame.height > max_rows else frame


def explain_model(model: FittedModel, prepared: PreparedData, seed: int,
                  seconds_left: float | None = None) -> Explanations:
    """What the model card shows beside the metrics: importance on the held-out part and the
    learner's own, bootstrap intervals of the held-out metrics, and the typical training row
    that model-agnostic per-record explanations are measured against."""
    features = prepared.split.x_test[list(model.input_schema)]
    y_test = prepared.split.y_test
    output = model.predict_proba(features) if model.task.is_classification \
        else np.asarray(model.pipeline.predict(features), dtype=float)
    return Explanations(
        permutation_importance=permutation_importance_raw(
            model, features, y_test, seed,
            seconds=None if seconds_left is None else max(0.0, EXPLAIN_SHARE * seconds_left)),
        learner_importance=learner_importance(model),
        intervals=bootstrap_intervals(y_test, output, model.task, seed,
                                      resamples=BOOTSTRAP_RESAMPLES),
        reference_row=reference_values(model, prepared.split.x_train),
        latency_ms=pipeline_latency_ms(model, features))


def preparation_ms(model: FittedModel, features: pd.DataFrame) -> float:
    """What one row costs before the model runs: validation and encoding on the compiled
    record path a prediction of a few rows takes, or the fitted pipeline's transform when
    the preprocessing does not compile."""
    rows = features[list(model.input_schema)].head(SINGLE_ROW_CALLS)
    path = model.compiled_path
    if path is None:
        return preprocessing_ms(model.pipeline.named_steps["prepare"].transform, rows)
    records = rows.to_dict("records")
    return timed_latency(lambda record: path.encode([record]), records, records[0])["1_row"]


def pipeline_latency_ms(model: FittedModel, features: pd.DataFrame) -> dict[str, float]:
    """What a caller waits for, raw rows in, validated, and labelled predictions out: one
    row, and a batch of 1,000."""
    return timed_latency(_as_caller(model), _single_rows(features),
                         features.sample(n=1000, replace=True, random_state=0))


def caller_ms(model: FittedModel, features: pd.DataFrame) -> float:
    """``pipeline_latency_ms`` for one row only: the figure the latency-aware choice must
    keep, measured on the assembled model as a caller uses it (the members' own latencies
    do not add up to it: wrappers, validation and the answer's frame cost too)."""
    rows = _single_rows(features)
    return timed_latency(_as_caller(model), rows, rows[0])["1_row"]


def _as_caller(model: FittedModel) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda rows: model.predict_frame(model.validate_frame(rows))


def _single_rows(features: pd.DataFrame) -> list[pd.DataFrame]:
    return [features.iloc[i:i + 1] for i in range(min(SINGLE_ROW_CALLS, len(features)))]
