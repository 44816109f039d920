"""The training stages between ingest and registration, as plain functions over frames.

The flow calls them in order; each takes and returns plain values so it can be tested alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline

from flows.core.candidates import Member, Validation, set_single_threaded, timed_latency
from flows.core.card import bootstrap_intervals
from flows.core.embeddings import TextFeatures
from flows.core.ensemble import Integration
from flows.core.evaluate import classification_metrics, regression_metrics
from flows.core.explain import learner_importance, permutation_importance_raw, reference_values
from flows.core.imbalance import ClassBalance, balancing_weights, class_balance
from flows.core.leakage import find_leaks, find_linear_identity
from flows.core.model import FittedModel
from flows.core.prepare import Preparation, plan_preparation
from flows.core.split import Split, cap_training_rows, split_frame
from flows.core.types import Evaluation, Exclusion, Task

VALIDATION_SHARE = 0.2
BOOTSTRAP_RESAMPLES = 50
"""Enough for rough 95% intervals; each resample costs a full set of metrics (~40 ms at 10k
rows), and this stage is paid outside the budget."""
VALIDATION_MAX_ROWS = 50_000
SMALL_TABLE_ROWS = 5_000
HELD_OUT_PREDICTIONS_MAX_ROWS = 100_000
CROSS_FIT_FOLDS = 5


@dataclass(frozen=True)
class PreparedData:
    """The split, the column plan, and the preprocessing fitted on the training part."""

    split: Split
    plan: Preparation
    preprocessor: ColumnTransformer
    x_train: np.ndarray
    balance: ClassBalance | None = None
    sample_weight: np.ndarray | None = None

    @property
    def task(self) -> Task:
        return self.split.task


def prepare_training(frame: pl.DataFrame, target: str, test_size: float, seed: int,
                     max_rows: int | None = None,
                     text_features: TextFeatures = "auto",
                     budget_s: float | None = None) -> PreparedData:
    """Split, cap the training rows, plan the features from the training part (leaks left
    out), fit the preprocessing on it, and weigh classes if they are badly imbalanced."""
    split = split_frame(frame, target, test_size, seed)
    if max_rows:
        split = cap_training_rows(split, max_rows, seed)
    return prepare_split(split, seed, text_features, budget_s)


def prepare_split(split: Split, seed: int, text_features: TextFeatures = "auto",
                  budget_s: float | None = None,
                  excluded: Sequence[Exclusion] = ()) -> PreparedData:
    """Plan the features of a split's training part (leaks and ``excluded`` columns left
    out), fit the preprocessing on it, and weigh classes if they are badly imbalanced."""
    plan = plan_preparation(split.x_train.drop(columns=[e.column for e in excluded]),
                            split.task, text_features, budget_s)
    plan = replace(plan, exclusions=tuple(excluded) + plan.exclusions)
    leaks = find_leaks(split.x_train, split.y_train, split.task, plan.feature_columns, seed)
    if split.task is Task.REGRESSION:
        kept = tuple(c for c in plan.feature_columns if c not in {e.column for e in leaks})
        leaks += find_linear_identity(split.x_train, split.y_train, kept, seed)
    plan = plan.without(leaks)
    preprocessor = plan.build()
    x_train = preprocessor.fit_transform(split.x_train[list(plan.feature_columns)],
                                         split.y_train)
    balance = class_balance(split.y_train, split.classes) if split.task.is_classification \
        else None
    weights = balancing_weights(split.y_train, balance) if balance else None
    return PreparedData(split, plan, preprocessor, np.asarray(x_train, dtype=float), balance,
                        weights)


def as_model(prepared: PreparedData, estimator: Any, learner: str, version: str) -> FittedModel:
    """Wrap a fitted estimator with the fitted preprocessing into a servable model."""
    pipeline = Pipeline([("prepare", prepared.preprocessor), ("model", estimator)])
    return FittedModel(
        version=version, task=prepared.task, target=prepared.split.target, learner=learner,
        classes=prepared.split.classes, input_schema=prepared.plan.input_schema,
        pipeline=pipeline)


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


def plan_validation(prepared: PreparedData, seed: int) -> Validation:
    """Where candidates are judged. Up to SMALL_TABLE_ROWS training rows: out-of-fold
    predictions over every row (the search sees all of them too: holding out a fifth of a
    small table costs the search data and leaves a validation set too small to choose on;
    the price is that the search's choice of configurations saw the rows). Above: a holdout
    of 20% (at most VALIDATION_MAX_ROWS) that the search never sees."""
    y = prepared.split.y_train
    rows = np.arange(len(y))
    classes = prepared.task.is_classification
    smallest_class = int(np.bincount(y).min()) if classes else len(y)
    if len(rows) <= SMALL_TABLE_ROWS and smallest_class >= CROSS_FIT_FOLDS:
        splitter = (StratifiedKFold if classes else KFold)(CROSS_FIT_FOLDS, shuffle=True,
                                                          random_state=seed)
        folds = tuple((train, test) for train, test in splitter.split(rows, y))
        return Validation(rows, rows, folds)
    size = min(VALIDATION_SHARE, VALIDATION_MAX_ROWS / len(rows))
    stratify = y if classes and smallest_class >= 2 else None
    fit, valid = train_test_split(rows, test_size=size, random_state=seed, stratify=stratify)
    return Validation(np.sort(fit), np.sort(valid))


def refit_on_all_rows(prepared: PreparedData, members: list[Member], integration: Integration,
                      n_jobs: int, version: str, learner: str) -> FittedModel:
    """The chosen model fitted again, preprocessing included, on the training and the test
    part together: every row improves the model that is registered, once it has been
    measured."""
    split = prepared.split
    columns = list(prepared.plan.feature_columns)
    x_raw = pd.concat([split.x_train[columns], split.x_test[columns]], ignore_index=True)
    y = np.concatenate([split.y_train, split.y_test])
    preprocessor = prepared.plan.build()
    x = np.asarray(preprocessor.fit_transform(x_raw, y), dtype=float)
    weights = balancing_weights(y, prepared.balance) if prepared.balance else None
    fitted = []
    for member in members:
        estimator = member.fit(x, y, weights, n_jobs)
        set_single_threaded(estimator)
        fitted.append(estimator)
    estimator = integration.estimator(fitted, prepared.task, len(split.classes))
    return FittedModel(
        version=version, task=prepared.task, target=split.target, learner=learner,
        classes=split.classes, input_schema=prepared.plan.input_schema,
        pipeline=Pipeline([("prepare", preprocessor), ("model", estimator)]))


def explain_model(model: FittedModel, prepared: PreparedData, seed: int) -> dict[str, Any]:
    """What the model card shows beside the metrics: importance on the held-out part and the
    learner's own, bootstrap intervals of the held-out metrics, and the typical training row
    that model-agnostic per-record explanations are measured against."""
    features = prepared.split.x_test[list(model.input_schema)]
    y_test = prepared.split.y_test
    output = model.predict_proba(features) if model.task.is_classification \
        else np.asarray(model.pipeline.predict(features), dtype=float)
    return {
        "permutation_importance": permutation_importance_raw(model, features, y_test, seed),
        "learner_importance": learner_importance(model),
        "intervals": bootstrap_intervals(y_test, output, model.task, seed,
                                         resamples=BOOTSTRAP_RESAMPLES),
        "reference_row": reference_values(model, prepared.split.x_train),
        "latency_ms": pipeline_latency_ms(model, features),
    }


def pipeline_latency_ms(model: FittedModel, features: pd.DataFrame) -> dict[str, float]:
    """What a caller waits for, raw rows in and labelled predictions out."""
    return timed_latency(model.predict_frame,
                         [features.iloc[i:i + 1] for i in range(min(7, len(features)))],
                         features.sample(n=1000, replace=True, random_state=0))
