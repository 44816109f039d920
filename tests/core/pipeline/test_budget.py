"""The budget controller: it refuses what it predicts cannot finish, gives fewer trees to
what cannot finish whole, and never looks at the clock with a model count."""

from __future__ import annotations

import time

from flows.core.pipeline.budget import Clock, CostModel, Plan, Skipped, plan_fit
from flows.core.training.learners import Config

CATBOOST = Config("catboost", "catboost", {"iterations": 1000}, "a test")


def test_a_fit_predicted_not_to_finish_its_minimum_is_not_started() -> None:
    cost = CostModel(rows=1_000_000, features=100, n_classes=2, folds=3)
    clock = Clock(time.monotonic(), budget=10.0)
    plan = plan_fit(CATBOOST, clock, cost, share=0.3, first=False)
    assert isinstance(plan, Skipped) and "predicted" in plan.reason
    first = plan_fit(CATBOOST, clock, cost, share=0.3, first=True)  # a run needs a model
    assert isinstance(first, Plan) and first.seconds is not None
    assert first.seconds <= clock.budget - 2.5  # the reserve after the fits stays


def test_a_timed_learner_gets_fewer_trees_when_all_would_not_fit() -> None:
    cost = CostModel(rows=20_000, features=50, n_classes=2, folds=5)
    cost.observe(CATBOOST, [1000] * 5, 30.0)  # this run: 30 s for the whole bag
    plan = plan_fit(CATBOOST, Clock(time.monotonic(), budget=20.0), cost, share=0.5,
                    first=False)
    assert isinstance(plan, Plan) and plan.seconds is not None
    rounds = plan.config.params["iterations"]
    assert 100 < rounds < 500 and plan.predicted_s <= plan.seconds * 1.01
    assert "rounds to fit" in plan.note


def test_the_prediction_learns_from_the_runs_own_fits() -> None:
    cost = CostModel(rows=10_000, features=20, n_classes=2, folds=5)
    lgbm = Config("lgbm", "lgbm", {"n_estimators": 100}, "a test")
    prior = cost.predict(lgbm)
    cost.observe(lgbm, [100] * 5, 3 * prior)
    assert abs(cost.predict(lgbm) - 3 * prior) < 1e-9
    assert cost.predict(CATBOOST) > 0  # other learners take the run's speed


def test_with_a_model_count_there_is_no_clock() -> None:
    clock = Clock(time.monotonic() - 1000, budget=1.0, max_models=3)  # long past its budget
    cost = CostModel(rows=1_000_000, features=100, n_classes=2, folds=3)
    plan = plan_fit(CATBOOST, clock, cost, share=0.1, first=False)
    assert isinstance(plan, Plan) and plan.seconds is None and plan.config == CATBOOST
