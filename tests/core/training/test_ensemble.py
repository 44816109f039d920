"""Integration: blends and stacks are kept only when they validate better, and pay for it."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline

from flows.core.training.bagging import Candidate
from flows.core.training.ensemble import BLEND_ROUNDS, Bag, Blend, Stack, integrate
from flows.core.training.latency import matrix_latency
from flows.core.training.learners import Config, FoldFit, predict_outputs
from flows.core.training.losses import loss
from flows.core.types import Task


def candidate(name: str, oof: np.ndarray, latency: float = 1.0,
              estimator: object = None) -> Candidate:
    """A candidate with one 'fold model' and given out-of-fold predictions."""
    return Candidate(Config(name, "linear", {}, "a test"), (FoldFit(estimator, 0.1, 0,
                                                                     "complete"),),
                     oof, 0.1, {"1_row": latency, "1000_rows": 5.0})


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
        predict = estimator.predict_proba if task.is_classification else estimator.predict
        candidates.append(candidate(f"col{column}", predict_outputs(estimator, x_valid, task, 2),
                                    matrix_latency(predict, x_valid)["1_row"], estimator))
    return candidates, y_valid, x_valid


@pytest.mark.parametrize("task", [Task.BINARY, Task.REGRESSION])
def test_complementary_models_are_combined_and_the_ensemble_predicts_better(task: Task) -> None:
    candidates, y_valid, _ = fitted_candidates(task)
    chosen = integrate(candidates, y_valid, task, "log_loss" if task.is_classification
                       else "rmse", "accurate", seed=0)
    assert chosen.kind in {"blend", "stack"}
    assert chosen.losses[chosen.kind] < 0.9 * chosen.losses["single"]
    assert "beat the best single model" in chosen.reason
    model = chosen.estimator([candidates[i].fold_fits[0].estimator for i in chosen.members],
                             task, 2)
    assert isinstance(model, Blend | Stack)
    fresh_x, fresh_y, *_ = two_views(task, seed=1)
    metric = "log_loss" if task.is_classification else "rmse"
    predicted = model.predict_proba(fresh_x) if task.is_classification else model.predict(fresh_x)
    alone = [loss(metric, fresh_y, c.oof) for c in candidates]  # same scale
    assert loss(metric, fresh_y, predicted) < 0.8 * min(alone)


def test_an_ensemble_that_cannot_beat_the_best_model_is_not_kept() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=2000)
    y = (rng.uniform(size=2000) < p).astype(int)
    truth = np.column_stack([1 - p, p])  # the true, calibrated probabilities: unbeatable
    noise = rng.dirichlet([1, 1], 2000)
    candidates = [candidate("noise", noise), candidate("truth", truth)]
    chosen = integrate(candidates, y, Task.BINARY, "log_loss", "accurate", seed=0)
    assert chosen.kind == "single" and chosen.members == (1,)
    assert "did not beat" in chosen.reason


def test_balanced_refuses_a_much_slower_ensemble_for_a_small_gain() -> None:
    candidates, y_valid, _ = fitted_candidates(Task.BINARY)
    slow = [candidate(c.name, c.oof, 1.0 if i == 0 else 1000.0)
            for i, c in enumerate(candidates)]
    balanced = integrate(slow, y_valid, Task.BINARY, "log_loss", "balanced", seed=0)
    accurate = integrate(slow, y_valid, Task.BINARY, "log_loss", "accurate", seed=0)
    assert balanced.kind == "single"  # the slow one does not fit the latency budget
    assert accurate.kind in {"blend", "stack"}
    assert balanced.latency_ms["single"] < accurate.latency_ms[accurate.kind]


def noisy_views(noise: tuple[float, float]) -> tuple[list[np.ndarray], np.ndarray]:
    """Two independently noisy copies of the true probabilities: averaging them helps."""
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, 4000)
    y = (rng.uniform(size=4000) < p).astype(int)
    views = [np.clip(p + rng.normal(0, s, 4000), 0.02, 0.98) for s in noise]
    return [np.column_stack([1 - q, q]) for q in views], y


def test_balanced_pays_for_an_ensemble_by_the_milliseconds_it_adds_not_its_slowdown() -> None:
    (quick, slow), y = noisy_views((0.1, 0.11))
    kept = integrate([candidate("quick", quick, 0.05), candidate("slow", slow, 6.0)], y,
                     Task.BINARY, "log_loss", "balanced", seed=0)
    # ~2.6% better for 6 ms more: worth it, although 120x slower than the quick model
    assert kept.kind in {"blend", "stack"}
    assert "for 6.0 ms more per row" in kept.reason
    (quick, slow), y = noisy_views((0.05, 0.1))  # ~0.25% better: not for 6 ms
    refused = integrate([candidate("quick", quick, 0.05), candidate("slow", slow, 6.0)], y,
                        Task.BINARY, "log_loss", "balanced", seed=0)
    assert refused.kind == "single" and refused.members == (0,)
    assert "adds 6.0 ms" in refused.reason and "0.1% per ms" in refused.reason


def test_fast_takes_the_quickest_model_close_to_the_best() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    truth = np.column_stack([1 - y, y]) * 0.9 + 0.05
    candidates = [candidate("slow", truth, 50.0), candidate("quick", truth.copy())]
    chosen = integrate(candidates, y, Task.BINARY, "log_loss", "fast", seed=0)
    assert chosen.kind == "single" and chosen.members == (1,)


def test_balanced_blends_only_members_that_answer_within_the_latency_budget() -> None:
    candidates, y_valid, _ = fitted_candidates(Task.BINARY)
    quick = [candidate(c.name, c.oof, 2.0) for c in candidates]
    within = integrate(quick, y_valid, Task.BINARY, "log_loss", "balanced", seed=0,
                       overhead_ms=3.0)
    assert within.kind in {"blend", "stack"}  # 3 + 2 + 2 ms is under 10 ms
    assert within.latency_ms[within.kind] == pytest.approx(7.0)
    over = integrate(quick, y_valid, Task.BINARY, "log_loss", "balanced", seed=0,
                     overhead_ms=7.0)
    assert over.kind == "single"  # 7 + 2 + 2 ms is not


def test_caruana_selects_with_replacement_over_forty_steps() -> None:
    candidates, y_valid, _ = fitted_candidates(Task.BINARY)
    chosen = integrate(candidates, y_valid, Task.BINARY, "log_loss", "accurate", seed=0)
    if chosen.kind == "blend":
        steps = [w * BLEND_ROUNDS for w in chosen.weights]
        assert all(abs(s - round(s)) < 1e-9 for s in steps) and sum(steps) == BLEND_ROUNDS


def test_a_bag_averages_its_fold_models() -> None:
    candidates, _, x_valid = fitted_candidates(Task.BINARY)
    members = [c.fold_fits[0].estimator for c in candidates]
    bag = Bag(members, Task.BINARY, 2)
    expected = np.mean([m.predict_proba(x_valid) for m in members], axis=0)  # type: ignore[attr-defined]
    np.testing.assert_allclose(bag.predict_proba(x_valid), expected)
    with pytest.raises(TypeError, match="not fitted again"):
        bag.fit(x_valid, np.zeros(len(x_valid)))


def test_balanced_answers_within_its_latency_even_when_a_slow_model_scores_better() -> None:
    candidates, y_valid, _ = fitted_candidates(Task.BINARY)
    better = min(candidates, key=lambda c: loss("log_loss", y_valid, c.oof))
    other = next(c for c in candidates if c is not better)
    slow_best = [candidate(better.name, better.oof, 80.0), candidate(other.name, other.oof, 1.0)]
    balanced = integrate(slow_best, y_valid, Task.BINARY, "log_loss", "balanced", seed=0,
                         overhead_ms=2.0)
    assert balanced.kind == "single" and balanced.members == (1,)
    assert balanced.latency_ms["single"] == pytest.approx(3.0)
    assert f"{better.name} scored better but answers one row in 82.0 ms" in balanced.reason
    accurate = integrate(slow_best, y_valid, Task.BINARY, "log_loss", "accurate", seed=0)
    assert 0 in accurate.members  # no limit: the better one is used
