"""One configuration on one fold: early stopping, the deadline, and clock-free determinism."""

from __future__ import annotations

import time

import numpy as np
import pytest

from flows.core.training.learners import (
    LEARNERS,
    Config,
    Matrix,
    fewer_rounds,
    fit_fold,
    predict_outputs,
)
from flows.core.types import Task

PARAMS = {"lgbm": {"n_estimators": 100}, "xgboost": {"n_estimators": 100},
          "catboost": {"iterations": 100}, "rf": {"n_estimators": 30},
          "extra_tree": {"n_estimators": 30}, "linear": {}, "hgb": {}}


def table(task: Task, rows: int = 400, seed: int = 0) -> Matrix:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 5))
    signal = x[:, 0] + 0.5 * x[:, 1] + 0.3 * rng.normal(size=rows)
    if task is Task.REGRESSION:
        return Matrix(x, signal, None, task, 0)
    y = np.digitize(signal, [-0.5, 0.5]) if task is Task.MULTICLASS else (signal > 0)
    return Matrix(x, y.astype(int), None, task, 3 if task is Task.MULTICLASS else 2)


@pytest.mark.parametrize("learner", LEARNERS)
@pytest.mark.parametrize("task", list(Task))
def test_every_learner_fits_and_predicts_every_class_or_a_value(learner: str, task: Task) -> None:
    data = table(task)
    rows = np.arange(len(data.y))
    fold = fit_fold(Config(learner, learner, PARAMS[learner], "a test"), data, rows[:300],
                    rows[300:], seed=0, n_jobs=1)
    out = predict_outputs(fold.estimator, data.x[300:], task, data.n_classes)
    if task.is_classification:
        assert out.shape == (100, data.n_classes)
        np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-6)
        assert (out.argmax(axis=1) == data.y[300:]).mean() > 0.6
    else:
        assert out.shape == (100,) and np.corrcoef(out, data.y[300:])[0, 1] > 0.7
    assert fold.stopped in {"complete", "early stopping"} and fold.seconds > 0


@pytest.mark.parametrize("learner", ["lgbm", "xgboost", "catboost", "rf"])
def test_a_passed_deadline_stops_the_trees_and_leaves_a_usable_model(learner: str) -> None:
    data = table(Task.BINARY, rows=2000)
    rows = np.arange(2000)
    config = Config(learner, learner, {"iterations" if learner == "catboost"
                                       else "n_estimators": 5000, "learning_rate": 0.001}
                    if learner != "rf" else {"n_estimators": 5000}, "a test")
    started = time.monotonic()
    fold = fit_fold(config, data, rows[:1500], rows[1500:], 0, 1, deadline=started + 0.3)
    assert time.monotonic() - started < 0.3 + 1.5  # a round or a chunk past the deadline
    assert fold.stopped == "deadline" and 0 < fold.rounds < 5000
    assert predict_outputs(fold.estimator, data.x[:3], Task.BINARY, 2).shape == (3, 2)


@pytest.mark.parametrize("learner", ["lgbm", "xgboost", "catboost", "extra_tree"])
def test_without_a_deadline_the_same_fit_is_the_same_model_bit_for_bit(learner: str) -> None:
    data = table(Task.BINARY, rows=600)
    rows = np.arange(600)
    config = Config(learner, learner, PARAMS[learner] | (
        {"subsample": 0.7, "colsample_bytree": 0.7} if learner in ("lgbm", "xgboost") else {}),
        "a test")
    first, again = (fit_fold(config, data, rows[:500], rows[500:], 3, 2) for _ in range(2))
    np.testing.assert_array_equal(predict_outputs(first.estimator, data.x, Task.BINARY, 2),
                                  predict_outputs(again.estimator, data.x, Task.BINARY, 2))


def test_fewer_rounds_raise_the_learning_rate_in_proportion_up_to_a_cap() -> None:
    config = Config("lgbm", "lgbm", {"n_estimators": 1000, "learning_rate": 0.01}, "a test")
    fewer = fewer_rounds(config, 250)
    assert fewer.params == {"n_estimators": 250, "learning_rate": pytest.approx(0.04)}
    assert fewer_rounds(config, 10).params["learning_rate"] == 0.3
    catboost = Config("catboost", "catboost", {"iterations": 1000}, "a test")
    assert fewer_rounds(catboost, 100).params == {"iterations": 100}  # CatBoost picks its rate


@pytest.mark.parametrize("task", list(Task))
def test_linear_outputs_skip_scikit_learns_checks_and_give_its_answers(task: Task) -> None:
    data = table(task)
    rows = np.arange(len(data.y))
    fold = fit_fold(Config("linear", "linear", {}, "a test"), data, rows[:300], rows[300:],
                    seed=0, n_jobs=1)
    expected = fold.estimator.predict(data.x[300:]) if task is Task.REGRESSION \
        else fold.estimator.predict_proba(data.x[300:])
    np.testing.assert_allclose(predict_outputs(fold.estimator, data.x[300:], task,
                                               data.n_classes), expected, rtol=1e-12,
                               atol=1e-12)
