"""FLAML's tuner in the time the portfolio leaves: warm-started from the leading boosted
candidates, its best configurations bagged, never run on a model count."""

from __future__ import annotations

import time

from flows.core.pipeline.budget import Clock
from flows.core.pipeline.candidates import Fitting, fit_candidates
from flows.core.pipeline.fit import FitOptions
from flows.core.pipeline.tuned import tune_leaders
from flows.core.training.folds import Folds, plan_folds
from flows.core.training.learners import Matrix
from flows.core.training.portfolio import build_portfolio
from tests.core.pipeline.test_fit import counted, prepared


def portfolio_of_two() -> tuple[Matrix, Folds, Fitting]:
    data = prepared("titanic.csv", "survived")
    matrix = Matrix(data.x_train, data.split.y_train, None, data.task,
                    len(data.split.classes))
    folds = plan_folds(matrix.y, matrix.task, seed=0)
    configs = build_portfolio(matrix.task, matrix.x, matrix.y, learners=("lgbm", "xgboost"))
    fitting = fit_candidates(configs[:2], matrix, folds, counted(2), "log_loss", 0, 1)
    return matrix, folds, fitting


def test_the_tuner_starts_from_the_leaders_and_keeps_to_the_clock() -> None:
    matrix, folds, fitting = portfolio_of_two()
    started = time.monotonic()
    clock = Clock(started, budget=12.0)
    tuned = tune_leaders(fitting, matrix, folds, clock, "log_loss", FitOptions(seed=0, n_jobs=1))
    assert time.monotonic() < clock.fit_deadline + 2.0
    searched = [t for t in tuned.trials[len(fitting.trials):] if t.learner.endswith("(tuner)")]
    assert searched and {t.learner for t in searched} <= {"lgbm (tuner)", "xgboost (tuner)"}
    added = tuned.candidates[len(fitting.candidates):]
    assert all(c.name.endswith("_tuned") and c.config.origin.startswith("FLAML tuner")
               for c in added)
    assert len({c.learner for c in added}) == len(added)  # one tuned configuration a learner


def test_a_run_by_model_count_never_tunes() -> None:
    matrix, folds, fitting = portfolio_of_two()
    assert tune_leaders(fitting, matrix, folds, counted(2), "log_loss",
                        FitOptions(seed=0, n_jobs=1)) is fitting
