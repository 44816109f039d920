from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from catboost import CatBoostClassifier, CatBoostRegressor
from flaml.automl.model import BaseEstimator as FlamlEstimator
from flaml.automl.model import LGBMEstimator
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB
from xgboost import XGBClassifier

from flows.core.evaluation import explain
from flows.core.preparation.prepared import PreparedData, as_model, prepare_training
from flows.core.registry.model import FittedModel

ROWS = 300
TARGETS = {"binary": "label", "multiclass": "kind", "regression": "value"}


def estimator(task: str, learner: str) -> Any:
    """A small real learner; one thread each, as the machine is shared and OpenMP pools
    fight over its two cores."""
    regression = task == "regression"
    if learner == "lightgbm":
        return (LGBMRegressor if regression else LGBMClassifier)(
            n_estimators=20, verbose=-1, n_jobs=1)
    if learner == "flaml":  # what the search hands over: FLAML's wrapper around LightGBM
        return LGBMEstimator(task=task, n_estimators=20, n_jobs=1)
    if learner == "xgboost":
        return XGBClassifier(n_estimators=20, n_jobs=1)
    if learner == "catboost":
        return (CatBoostRegressor if regression else CatBoostClassifier)(
            iterations=20, verbose=False, thread_count=1, allow_writing_files=False)
    if learner == "linear":
        return Ridge() if regression else LogisticRegression()
    return VotingClassifier([("linear", LogisticRegression()), ("bayes", GaussianNB())],
                            voting="soft")


def table(target: str) -> pl.DataFrame:
    """``signal`` drives every target, ``noise`` drives none; a category, a date and missing
    numbers exercise each encoding's mapping back to raw columns."""
    rng = np.random.default_rng(0)
    signal = rng.normal(size=ROWS)
    noise = rng.normal(size=ROWS)
    noise[::17] = np.nan
    colour = rng.choice(["red", "green", "blue"], size=ROWS)
    logit = 3 * signal + (colour == "red")
    targets = {
        "label": np.where(rng.random(ROWS) < 1 / (1 + np.exp(-logit)), "yes", "no"),
        "kind": np.where(signal > 0.5, "a", np.where(signal < -0.5, "b", "c")),
        "value": 3 * signal + (colour == "red") + rng.normal(scale=0.3, size=ROWS),
    }
    day = np.datetime64("2024-01-01") + rng.integers(0, 365, ROWS).astype("timedelta64[D]")
    return pl.DataFrame({"signal": signal, "noise": noise, "colour": colour, "day": day,
                         target: targets[target]})


@cache
def prepared(task: str) -> PreparedData:
    return prepare_training(table(TARGETS[task]), TARGETS[task], 0.3, seed=0)


@cache
def fitted(task: str, learner: str) -> FittedModel:
    """One real fitted model per (task, learner), shared by the tests that read it."""
    data = prepared(task)
    learned = estimator(task, learner)
    learned.fit(data.x_train, data.split.y_train)  # FLAML's fit returns the time, not self
    return as_model(data, learned, learner, "v1")


def held_out(task: str, rows: int = 5) -> pd.DataFrame:
    return prepared(task).split.x_test.head(rows)


def raw_output(model: FittedModel, records: pd.DataFrame) -> np.ndarray:
    """Each library's own margin output: what its SHAP values add up to."""
    estimator = model.pipeline.named_steps["model"]
    if isinstance(estimator, FlamlEstimator):
        estimator = estimator.estimator
    matrix = model.pipeline.named_steps["prepare"].transform(records)
    if isinstance(estimator, LGBMClassifier | LGBMRegressor):
        return np.asarray(estimator.predict(matrix, raw_score=True))
    if isinstance(estimator, XGBClassifier):
        return np.asarray(estimator.predict(matrix, output_margin=True))
    return np.asarray(estimator.predict(matrix, prediction_type="RawFormulaVal"))


@pytest.mark.parametrize("learner", ["lightgbm", "xgboost", "catboost", "flaml"])
def test_native_contributions_add_up_to_the_log_odds(learner: str) -> None:
    model, records = fitted("binary", learner), held_out("binary")
    explained = explain.contributions(model, records)
    assert [e.value for e in explained] == pytest.approx(raw_output(model, records), abs=1e-4)
    assert {e.output for e in explained} == {"log-odds of class yes"}
    assert all(list(e.contributions) == list(model.input_schema) for e in explained)
    assert all(next(iter(e.as_dict())) == explain.BASE for e in explained)


@pytest.mark.parametrize("learner", ["lightgbm", "catboost"])
def test_multiclass_explains_the_predicted_class_score(learner: str) -> None:
    model, records = fitted("multiclass", learner), held_out("multiclass")
    explained = explain.contributions(model, records)
    predicted = model.predict_frame(records)["prediction"]
    assert [e.value for e in explained] == pytest.approx(
        raw_output(model, records).max(axis=1), abs=1e-4)
    assert [e.output for e in explained] == [
        f"raw score (softmax input) of class {label}" for label in predicted]


@pytest.mark.parametrize("learner", ["lightgbm", "catboost"])
def test_regressor_contributions_add_up_to_the_prediction(learner: str) -> None:
    model, records = fitted("regression", learner), held_out("regression")
    explained = explain.contributions(model, records)
    assert [e.value for e in explained] == pytest.approx(model.pipeline.predict(records),
                                                         abs=1e-4)
    assert {e.output for e in explained} == {"prediction"}


def test_model_agnostic_contributions_add_up_to_probability_minus_base() -> None:
    model, records = fitted("binary", "linear"), held_out("binary", 20)
    background = prepared("binary").split.x_train
    explained = explain.contributions(model, records, background=background)
    reference = model.validate_frame(pd.DataFrame(
        [explain.reference_values(model, background)]))
    assert [e.value for e in explained] == pytest.approx(model.predict_proba(records)[:, 1])
    assert explain.contributions(model, records.head(0)) == []
    assert [e.base for e in explained] == pytest.approx(
        [model.predict_proba(reference)[0, 1]] * 20)
    assert {e.output for e in explained} == {"probability of class yes"}
    size = {c: np.mean([abs(e.contributions[c]) for e in explained])
            for c in model.input_schema}
    assert size["signal"] > 3 * size["noise"]


def test_model_agnostic_path_takes_a_stored_reference() -> None:
    model, records = fitted("regression", "linear"), held_out("regression", 3)
    background = prepared("regression").split.x_train
    stored = explain.reference_values(model, background)
    assert isinstance(stored["day"], str)  # JSON-ready, to keep with the model
    explained = explain.contributions(model, records, background=stored)
    assert [e.value for e in explained] == pytest.approx(model.pipeline.predict(records))
    assert explained == explain.contributions(model, records, background)


def test_permutation_importance_ranks_the_signal_above_the_noise() -> None:
    model, split = fitted("binary", "lightgbm"), prepared("binary").split
    importance = explain.permutation_importance_raw(model, split.x_test, split.y_test,
                                                    seed=0, max_rows=60)
    assert set(importance) == set(model.input_schema)
    assert next(iter(importance)) == "signal"
    assert importance["signal"] > importance["noise"] + 0.1
    assert list(importance.values()) == sorted(importance.values(), reverse=True)


def test_permutation_importance_is_rmse_growth_for_regression() -> None:
    model, split = fitted("regression", "linear"), prepared("regression").split
    importance = explain.permutation_importance_raw(model, split.x_test, split.y_test, seed=0)
    assert importance["signal"] > 1.0 > abs(importance["noise"])


@pytest.mark.parametrize("learner", ["lightgbm", "linear", "xgboost", "catboost", "flaml"])
def test_learner_importance_is_per_raw_column_and_sums_to_one(learner: str) -> None:
    model = fitted("binary", learner)
    importance = explain.learner_importance(model)
    assert set(importance) == set(model.input_schema)
    assert sum(importance.values()) == pytest.approx(1.0)
    assert importance["signal"] == max(importance.values())


def test_encoded_features_map_back_to_their_raw_columns() -> None:
    owners = explain.raw_feature_owners(fitted("binary", "linear"))
    # noise has a missing-value indicator, colour three one-hot levels, day six date parts
    assert owners == ["signal", "noise", "noise", *["colour"] * 3, *["day"] * 6]


def test_an_ensemble_has_no_importance_and_is_explained_model_agnostically() -> None:
    model, records = fitted("binary", "ensemble"), held_out("binary", 2)
    assert explain.learner_importance(model) == {}
    explained = explain.contributions(model, records, prepared("binary").split.x_train)
    assert [e.value for e in explained] == pytest.approx(model.predict_proba(records)[:, 1])
