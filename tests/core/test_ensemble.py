"""Integration: blends and stacks are kept only when they validate better, and pay for it."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline

from flows.core.candidates import Candidate, Member, latency_ms, predictions
from flows.core.ensemble import Blend, Stack, integrate
from flows.core.losses import loss
from flows.core.types import Task


def one_column(column: int, estimator: object) -> object:
    """A model that sees one column only: two of them complement each other."""
    return make_pipeline(ColumnTransformer([("keep", "passthrough", [column])]), estimator)


def two_views(task: Task, rows: int = 1200, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2))
    signal = x[:, 0] + x[:, 1]
    y = (signal > 0).astype(int) if task.is_classification else signal
    return x[: rows // 2], y[: rows // 2], x[rows // 2:], y[rows // 2:]


def fitted_candidates(task: Task) -> tuple[list[Candidate], np.ndarray, np.ndarray]:
    x_fit, y_fit, x_valid, y_valid = two_views(task)
    make = LogisticRegression if task.is_classification else LinearRegression
    candidates = []
    for column in (0, 1):
        estimator = one_column(column, make()).fit(x_fit, y_fit)  # type: ignore[attr-defined]
        candidates.append(Candidate(
            Member(f"col{column}", "linear", template=estimator), estimator,
            predictions(estimator, x_valid, task, 2), 0.1, latency_ms(estimator, x_valid, task)))
    return candidates, y_valid, x_valid


@pytest.mark.parametrize("task", [Task.BINARY, Task.REGRESSION])
def test_complementary_models_are_combined_and_the_ensemble_predicts_better(task: Task) -> None:
    candidates, y_valid, _ = fitted_candidates(task)
    chosen = integrate(candidates, y_valid, task, "log_loss" if task.is_classification
                       else "rmse", "accurate", seed=0)
    assert chosen.kind in {"blend", "stack"}
    assert chosen.losses[chosen.kind] < 0.9 * chosen.losses["single"]
    assert "beat the best single model" in chosen.reason
    model = chosen.estimator([candidates[i].estimator for i in chosen.members], task, 2)
    assert isinstance(model, Blend | Stack)
    fresh_x, fresh_y, *_ = two_views(task, seed=1)
    metric = "log_loss" if task.is_classification else "rmse"
    predicted = model.predict_proba(fresh_x) if task.is_classification else model.predict(fresh_x)
    alone = [loss(metric, fresh_y, c.valid_predictions) for c in candidates]  # same scale
    assert loss(metric, fresh_y, predicted) < 0.8 * min(alone)


def test_an_ensemble_that_cannot_beat_the_best_model_is_not_kept() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=2000)
    y = (rng.uniform(size=2000) < p).astype(int)
    truth = np.column_stack([1 - p, p])  # the true, calibrated probabilities: unbeatable
    noise = rng.dirichlet([1, 1], 2000)
    candidates = [
        Candidate(Member("noise", "x"), None, noise, 0.1, {"1_row": 1.0, "1000_rows": 5.0}),
        Candidate(Member("truth", "y"), None, truth, 0.1, {"1_row": 1.0, "1000_rows": 5.0}),
    ]
    chosen = integrate(candidates, y, Task.BINARY, "log_loss", "accurate", seed=0)
    assert chosen.kind == "single" and chosen.members == (1,)
    assert "did not beat" in chosen.reason


def test_balanced_refuses_a_much_slower_ensemble_for_a_small_gain() -> None:
    candidates, y_valid, _ = fitted_candidates(Task.BINARY)
    slow = [Candidate(c.member, c.estimator, c.valid_predictions, c.fit_s,
                      {"1_row": 1.0 if i == 0 else 1000.0, "1000_rows": 5.0})
            for i, c in enumerate(candidates)]
    balanced = integrate(slow, y_valid, Task.BINARY, "log_loss", "balanced", seed=0)
    accurate = integrate(slow, y_valid, Task.BINARY, "log_loss", "accurate", seed=0)
    assert balanced.kind == "single" and "not worth it" in balanced.reason
    assert accurate.kind in {"blend", "stack"}
    assert balanced.latency_ms["single"] < accurate.latency_ms[accurate.kind]


def test_fast_takes_the_quickest_model_close_to_the_best() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    truth = np.column_stack([1 - y, y]) * 0.9 + 0.05
    candidates = [
        Candidate(Member("slow", "x"), None, truth, 0.1, {"1_row": 50.0, "1000_rows": 5.0}),
        Candidate(Member("quick", "y"), None, truth.copy(), 0.1, {"1_row": 1.0,
                                                                  "1000_rows": 5.0}),
    ]
    chosen = integrate(candidates, y, Task.BINARY, "log_loss", "fast", seed=0)
    assert chosen.kind == "single" and chosen.members == (1,)


def test_an_ensemble_refits_its_members_keeping_its_rule() -> None:
    candidates, y_valid, x_valid = fitted_candidates(Task.BINARY)
    blend = Blend([c.estimator for c in candidates], [0.25, 0.75], Task.BINARY, 2)
    before = blend.predict_proba(x_valid)
    blend.fit(x_valid, y_valid)
    assert blend.weights == [0.25, 0.75]
    assert not np.allclose(before, blend.predict_proba(x_valid))  # new fits, new data
