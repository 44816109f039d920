"""The promotion gate: both models scored on the same held-out rows with the task's main
metric, and the challenger passes only when it is better by more than the margin."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline

from flows.core.preparation.prepare import plan_preparation
from flows.core.preparation.split import split_frame
from flows.core.registry.gate import gate, held_out_rows
from flows.core.registry.model import FittedModel
from flows.core.types import Task

RNG = np.random.default_rng(0)
X = pd.DataFrame({"x": RNG.normal(size=400), "noise": RNG.normal(size=400)})


def model(estimator: object, y: np.ndarray, task: Task, classes: tuple[object, ...] = ()
          ) -> FittedModel:
    plan = plan_preparation(X)
    pipeline = Pipeline([("prepare", plan.build()), ("model", estimator)]).fit(X, y)
    return FittedModel("v", task, "y", type(estimator).__name__, classes, plan.input_schema,
                       pipeline)


def test_a_better_classifier_passes_and_the_same_one_does_not() -> None:
    y = (X["x"] > 0).astype(int).to_numpy()
    labels = np.where(y == 1, "Yes", "No").astype(object)
    champion = model(DummyClassifier(), y, Task.BINARY, ("No", "Yes"))
    challenger = model(LogisticRegression(), y, Task.BINARY, ("No", "Yes"))
    result = gate(champion, challenger, X, labels, margin=0.001)
    assert result.metric == "roc_auc" and result.rows == 400
    assert result.champion == pytest.approx(0.5) and result.challenger > 0.99
    assert result.passed and "higher is better" in result.describe()
    same = gate(challenger, challenger, X, labels, margin=0.001)
    assert not same.passed  # no gain is not enough: the margin must be beaten


def test_regression_is_judged_on_rmse_lower_being_better() -> None:
    y = 3 * X["x"].to_numpy() + RNG.normal(scale=0.1, size=400)
    champion = model(DummyRegressor(), y, Task.REGRESSION)
    challenger = model(LinearRegression(), y, Task.REGRESSION)
    result = gate(champion, challenger, X, y, margin=0.0)
    assert result.metric == "rmse" and result.challenger < 0.2 < 2.5 < result.champion
    assert result.passed and "lower is better" in result.describe()
    assert not gate(challenger, champion, X, y, margin=0.0).passed


def test_rows_of_a_class_a_model_never_learnt_are_not_scored() -> None:
    y = (X["x"] > 0).astype(int).to_numpy()
    challenger = model(LogisticRegression(), y, Task.BINARY, ("No", "Yes"))
    unknown = np.array(["Maybe"] * 400, dtype=object)
    result = gate(challenger, challenger, X, unknown, margin=0.0)
    assert math.isnan(result.challenger) and not result.passed


def test_held_out_rows_are_the_runs_test_part_with_the_labels_as_written() -> None:
    frame = pl.DataFrame({"x": X["x"].tolist(), "noise": X["noise"].tolist(),
                          "y": np.where(X["x"] > 0, "Yes", "No").tolist()})
    features, labels = held_out_rows(frame, "y", test_size=0.25, seed=7)
    split = split_frame(frame, "y", 0.25, 7)
    pd.testing.assert_frame_equal(features, split.x_test)
    assert len(labels) == 100 and set(labels) == {"Yes", "No"}
    assert (labels == np.where(features["x"] > 0, "Yes", "No")).all()
