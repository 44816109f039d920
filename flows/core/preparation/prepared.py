"""The prepared training data: the split, the feature plan, and the preprocessing fitted on
the training part only (leaks and excluded columns left out), with class weights when the
classes are badly imbalanced. Every candidate learns from the same prepared matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from flows.core.data.leakage import find_leaks, find_linear_identity
from flows.core.preparation.embeddings import TextFeatures
from flows.core.preparation.imbalance import ClassBalance, balancing_weights, class_balance
from flows.core.preparation.prepare import Preparation, plan_preparation
from flows.core.preparation.split import Split, cap_training_rows, split_frame
from flows.core.registry.model import FittedModel
from flows.core.training.losses import search_metric
from flows.core.types import Exclusion, Task


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
                     budget_s: float | None = None,
                     metric: str | None = None) -> PreparedData:
    """Split, cap the training rows, plan the features from the training part (leaks left
    out), fit the preprocessing on it, and weigh classes where a run that optimises
    ``metric`` (None: the task's default) should (imbalance.py)."""
    split = split_frame(frame, target, test_size, seed)
    if max_rows:
        split = cap_training_rows(split, max_rows, seed)
    return prepare_split(split, seed, text_features, budget_s, metric=metric)


def prepare_split(split: Split, seed: int, text_features: TextFeatures = "auto",
                  budget_s: float | None = None,
                  excluded: Sequence[Exclusion] = (),
                  metric: str | None = None) -> PreparedData:
    """Plan the features of a split's training part (leaks and ``excluded`` columns left
    out), fit the preprocessing on it, and weigh classes where a run that optimises
    ``metric`` should (imbalance.py)."""
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
    balance = class_balance(split.y_train, split.classes,
                            search_metric(split.task, metric)) \
        if split.task.is_classification else None
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


