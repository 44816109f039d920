"""The portfolio: a fixed, documented order; FLAML's zero-shot configurations for the table;
a policy's learners and tree limits."""

from __future__ import annotations

import numpy as np

from flows.core.training.learners import MAX_ROUNDS, rounds_of
from flows.core.training.portfolio import PORTFOLIO, Constraints, build_portfolio
from flows.core.types import Task


def matrix(rows: int = 500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 6))
    return x, (x[:, 0] > 0).astype(int)


def test_the_order_is_the_portfolios_and_the_same_every_time() -> None:
    x, y = matrix()
    configs = build_portfolio(Task.BINARY, x, y)
    assert [c.name for c in configs] == [e.name for e in PORTFOLIO]
    assert configs == build_portfolio(Task.BINARY, x, y)
    assert configs[0].learner == "linear" and configs[2].learner == "catboost"
    lgbm = configs[1]
    assert lgbm.origin.startswith("FLAML zero-shot #1") and lgbm.flaml_params
    assert "n_estimators" in lgbm.params and "verbose" not in lgbm.params  # LightGBM's names
    assert all(rounds_of(c) <= MAX_ROUNDS for c in configs)
    forests = [c for c in configs if c.learner in ("rf", "extra_tree")]
    assert forests and all(c.params["n_estimators"] <= 300 for c in forests)


def test_regression_gets_a_ridge_and_forests_without_a_classifiers_criterion() -> None:
    x, _ = matrix()
    configs = build_portfolio(Task.REGRESSION, x, x[:, 0] * 2.0)
    assert next(c for c in configs if c.learner == "linear").params == {"alpha": 1.0}
    assert all("criterion" not in c.params for c in configs if c.learner == "extra_tree")


def test_a_policy_keeps_its_learners_and_their_trees_within_its_limits() -> None:
    x, y = matrix()
    configs = build_portfolio(Task.BINARY, x, y, learners=("lgbm", "xgboost", "linear"),
                              constraints=Constraints(max_leaves=8, monotone=(1, 0, 0, 0, 0, 0)))
    assert {c.learner for c in configs} == {"lgbm", "xgboost", "linear"}
    for config in configs:
        if config.learner == "lgbm":
            assert config.params["num_leaves"] <= 8
            assert config.params["monotone_constraints"] == [1, 0, 0, 0, 0, 0]
        if config.learner == "xgboost":
            assert config.params["max_leaves"] <= 8
            assert config.params["monotone_constraints"] == "(1,0,0,0,0,0)"


def test_a_champions_configurations_come_first() -> None:
    x, y = matrix()
    plain = build_portfolio(Task.BINARY, x, y)
    champion = plain[3]
    configs = build_portfolio(Task.BINARY, x, y, first=(champion,))
    assert configs[0] == champion
    assert [c.name for c in configs].count(champion.name) == 1  # not fitted twice
