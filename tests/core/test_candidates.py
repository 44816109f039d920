"""Candidates fit within the time left; the chosen model is refit on every row."""

from __future__ import annotations

import time

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression

from flows.core.candidates import Member, Validation, affordable_recipes, fit_candidates
from flows.core.ensemble import Integration
from flows.core.search import Recipe
from flows.core.training import plan_validation, prepare_training, refit_on_all_rows
from flows.core.types import Task


def recipe(learner: str, fit_s: float, loss: float) -> Recipe:
    return Recipe(learner=learner, config={}, loss=loss, fit_s=fit_s, flaml_class=None,
                  flaml_task=None)


def test_the_best_recipes_that_fit_the_time_left_are_chosen() -> None:
    recipes = (recipe("lgbm", 1.0, 0.1), recipe("catboost", 10.0, 0.2), recipe("rf", 2.0, 0.3))
    assert [r.learner for r in affordable_recipes(recipes, 10.0)] == ["lgbm", "rf"]
    assert [r.learner for r in affordable_recipes(recipes, 100.0)] == ["lgbm", "catboost", "rf"]
    assert [r.learner for r in affordable_recipes(recipes, 0.0)] == ["lgbm"]  # always one


def test_fitting_stops_at_the_deadline_but_always_fits_one() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    y = (x[:, 0] > 0).astype(int)
    holdout = Validation(np.arange(200), np.arange(200, 300))
    members = [Member(f"lr{c}", "logistic_regression", template=LogisticRegression(C=c))
               for c in (1.0, 0.1)]
    late = fit_candidates(members, x, y, None, holdout, Task.BINARY, 2, 1,
                          deadline=time.monotonic() - 1)
    assert [c.member.name for c in late] == ["lr1.0"]
    both = fit_candidates(members, x, y, None, holdout, Task.BINARY, 2, 1,
                          deadline=time.monotonic() + 60)
    assert len(both) == 2
    assert both[0].valid_predictions.shape == (100, 2)
    assert set(both[0].latency_ms) == {"1_row", "1000_rows"} and both[0].latency_ms["1_row"] > 0


def test_small_tables_are_judged_out_of_fold_on_every_row() -> None:
    prepared = prepare_training(small_frame(), "label", 0.2, seed=0)
    validation = plan_validation(prepared, seed=0)
    rows = len(prepared.split.y_train)
    assert validation.cross_fitted and len(validation.valid_rows) == rows
    predicted = np.concatenate([test for _, test in validation.folds])
    assert sorted(predicted) == list(range(rows))  # every row predicted exactly once
    member = Member("lr", "logistic_regression", template=LogisticRegression())
    [candidate] = fit_candidates([member], prepared.x_train, prepared.split.y_train, None,
                                 validation, Task.BINARY, 2, 1, time.monotonic() + 60)
    in_sample = candidate.estimator.predict_proba(prepared.x_train)
    assert candidate.valid_predictions.shape == (rows, 2)
    assert not np.allclose(candidate.valid_predictions, in_sample)  # out of fold, not refit
    assert "5-fold out-of-fold" in validation.describe()


def test_large_tables_get_a_holdout_the_search_never_sees() -> None:
    prepared = prepare_training(small_frame(6500), "label", 0.2, seed=0)
    validation = plan_validation(prepared, seed=0)
    assert not validation.cross_fitted
    assert not set(validation.fit_rows) & set(validation.valid_rows)
    y = prepared.split.y_train
    assert abs(y[validation.valid_rows].mean() - y[validation.fit_rows].mean()) < 0.02


def test_refit_learns_from_the_training_and_the_test_rows() -> None:
    prepared = prepare_training(small_frame(), "label", 0.2, seed=0)
    member = Member("lr", "logistic_regression", template=LogisticRegression())
    single = Integration("single", (0,), (1.0,), None, {}, {}, "test")
    model = refit_on_all_rows(prepared, [member], single, 1, "v1", "logistic_regression")
    numeric = model.pipeline.named_steps["prepare"].named_transformers_["numeric"]
    imputer = numeric.named_steps["simpleimputer"]
    every_row = np.concatenate([prepared.split.x_train["size"], prepared.split.x_test["size"]])
    assert imputer.statistics_[0] == np.nanmedian(every_row)
    assert model.pipeline.named_steps["model"].n_features_in_ > 0
    proba = model.predict_proba(prepared.split.x_test)
    assert proba.shape == (len(prepared.split.x_test), 2)


def small_frame(rows: int = 400) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    size = rng.normal(10, 3, rows)
    return pl.DataFrame({"size": size, "colour": rng.choice(["red", "blue"], rows),
                         "label": np.where(size + rng.normal(0, 2, rows) > 10, "big", "small")})
