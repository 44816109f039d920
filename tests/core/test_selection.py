from __future__ import annotations

import numpy as np
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression

from flows.core.selection import select
from flows.core.types import Task


def test_the_candidate_that_validates_best_is_chosen() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] > 0).astype(int)
    chosen = select({"search": DummyClassifier(), "baseline_linear": LogisticRegression()},
                    x, y, Task.BINARY, seed=0)
    assert chosen.chosen == "baseline_linear" and chosen.metric == "log_loss"
    assert chosen.losses["baseline_linear"] < chosen.losses["search"]


def test_regression_uses_rmse_and_a_failing_candidate_is_never_chosen() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 2))
    y = 2 * x[:, 0] + rng.normal(0, 0.1, 300)

    class Broken(LinearRegression):
        def fit(self, *args: object, **kwargs: object) -> Broken:
            raise RuntimeError("cannot fit")

    chosen = select({"search": Broken(), "baseline_hgb": DummyRegressor(),
                     "baseline_linear": LinearRegression()}, x, y, Task.REGRESSION, seed=0)
    assert chosen.chosen == "baseline_linear" and chosen.metric == "rmse"
    assert chosen.losses["search"] == float("inf")
    assert chosen.losses["baseline_linear"] < 0.2


def test_large_tables_are_ranked_on_a_sample(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import flows.core.selection as selection

    monkeypatch.setattr(selection, "MAX_ROWS", 500)
    seen: list[int] = []

    class Counting(LogisticRegression):
        def fit(self, x, y, sample_weight=None):  # type: ignore[no-untyped-def]
            seen.append(len(x))
            return super().fit(x, y)

    rng = np.random.default_rng(2)
    x = rng.normal(size=(5000, 2))
    y = (x[:, 0] > 0).astype(int)
    select({"search": Counting()}, x, y, Task.BINARY, seed=0)
    assert seen == [400]  # 80% of the 500-row sample
