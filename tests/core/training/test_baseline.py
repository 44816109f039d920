from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import flows.core.training.baseline as baseline
from flows.core.types import Task


def test_baselines_are_sklearn_defaults() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] > 0).astype(int)
    fitted = baseline.fit_baselines(x, y, Task.BINARY, seed=0)
    assert {role: learner for role, (learner, _) in fitted.items()} == {
        "baseline_linear": "logistic_regression", "baseline_hgb": "hist_gradient_boosting"}
    assert fitted["baseline_linear"][1].score(x, y) > 0.9
    assert fitted["baseline_hgb"][1].predict(x).shape == (400,)


def test_baselines_fit_on_a_stratified_sample_of_large_tables(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, float]] = []

    class Counting(LogisticRegression):
        def fit(self, x: Any, y: Any, sample_weight: Any = None) -> Counting:
            seen.append((len(x), float(np.mean(y))))
            return super().fit(x, y)

    monkeypatch.setattr(baseline, "MAX_ROWS", 300)
    monkeypatch.setattr(baseline, "baseline_estimators",
                        lambda task, seed: {"baseline_linear": ("lr", Counting())})
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1000, 3))
    y = (np.arange(1000) % 10 == 0).astype(int)  # 10% positives
    baseline.fit_baselines(x, y, Task.BINARY, seed=0)
    assert seen == [(300, pytest.approx(0.1))]
