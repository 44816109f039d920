"""Bagging: out-of-fold predictions never come from a model that saw the row; the fold
models are the candidate."""

from __future__ import annotations

import time

import numpy as np

from flows.core.training.bagging import fit_bag
from flows.core.training.folds import plan_folds
from flows.core.training.learners import Config, Matrix
from flows.core.types import Task

# One unpruned tree on every row memorises its training rows: predicting a row it learnt
# from gives that row's own label, whatever the label is.
MEMORISER = Config("memoriser", "rf", {"n_estimators": 1, "bootstrap": False,
                                       "max_features": None}, "a test")


def noise(rows: int = 400) -> Matrix:
    rng = np.random.default_rng(0)
    return Matrix(rng.normal(size=(rows, 3)), rng.integers(0, 2, rows), None, Task.BINARY, 2)


def test_out_of_fold_predictions_never_include_a_rows_own_fold() -> None:
    data = noise()
    folds = plan_folds(data.y, data.task, seed=0)
    bag = fit_bag(MEMORISER, data, folds, seed=0, n_jobs=1)
    accuracy = (bag.oof.argmax(axis=1) == data.y[folds.scored]).mean()
    assert 0.35 < accuracy < 0.65  # labels are noise: seen rows would be 100% right
    assert len(bag.fold_fits) == folds.k == 8 and bag.oof.shape == (400, 2)
    seen = bag.estimator(data).predict_proba(data.x)  # every row is in 7 of 8 fold models
    assert (seen.argmax(axis=1) == data.y).mean() > 0.95


def test_a_bag_is_the_same_for_the_same_seed() -> None:
    data = noise()
    folds = plan_folds(data.y, data.task, seed=0)
    config = Config("lgbm", "lgbm", {"n_estimators": 50, "subsample": 0.5,
                                     "subsample_freq": 1}, "a test")
    first, again = fit_bag(config, data, folds, 1, 1), fit_bag(config, data, folds, 1, 1)
    np.testing.assert_array_equal(first.oof, again.oof)
    assert first.latency_ms["1_row"] > 0 and set(first.latency_ms) == {"1_row", "1000_rows"}


def test_a_probe_fold_out_of_time_refits_with_the_trees_the_time_affords() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 20))
    data = Matrix(x, (x[:, 0] + rng.normal(size=4000) > 0).astype(int), None, Task.BINARY, 2)
    folds = plan_folds(data.y, data.task, seed=0, k=3)
    slow = Config("xgboost", "xgboost", {"n_estimators": 2000, "learning_rate": 0.01,
                                         "max_depth": 8}, "a test")
    started = time.monotonic()
    bag = fit_bag(slow, data, folds, seed=0, n_jobs=1, seconds=3.0)
    assert time.monotonic() - started < 3.0 + 1.5
    assert bag.config.params["n_estimators"] < 2000  # refitted with fewer, faster-learning trees
    assert bag.config.params["learning_rate"] > 0.01


def test_a_catboost_bag_serves_as_one_merged_model_with_the_folds_mean_score() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 4))
    config = Config("catboost", "catboost", {"iterations": 60}, "a test")
    for task, y in ((Task.REGRESSION, x[:, 0] + rng.normal(scale=0.1, size=300)),
                    (Task.MULTICLASS, np.digitize(x[:, 0], [-0.5, 0.5]))):
        data = Matrix(x, y, None, task, 0 if task is Task.REGRESSION else 3)
        bag = fit_bag(config, data, plan_folds(data.y, task, seed=0), seed=0, n_jobs=1)
        served = bag.estimator(data)
        assert len(served.members) == 1  # one predict call, not eight
        raw = np.mean([f.estimator.predict(x, prediction_type="RawFormulaVal")
                       for f in bag.fold_fits], axis=0)
        if task is Task.REGRESSION:
            np.testing.assert_allclose(served.predict(x), raw, rtol=1e-9)
        else:
            shifted = np.exp(raw - raw.max(axis=1, keepdims=True))
            np.testing.assert_allclose(served.predict_proba(x),
                                       shifted / shifted.sum(axis=1, keepdims=True), rtol=1e-9)
