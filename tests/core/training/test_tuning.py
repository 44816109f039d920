from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from flows.core.training.folds import plan_folds
from flows.core.training.tuning import read_trials, run_search
from flows.core.types import Task


def test_a_short_search_keeps_its_budget_on_the_runs_folds() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] + 0.3 * rng.normal(size=300) > 0).astype(int)
    folds = plan_folds(y, Task.BINARY, seed=0)
    started = time.perf_counter()
    result = run_search(x, y, Task.BINARY, "log_loss", 2, 0, folds, ("lgbm", "xgboost"),
                        n_jobs=1)
    assert time.perf_counter() - started < 2 + 2  # no refit of the winner inside the search
    losses = [r.loss for r in result.recipes]
    assert losses == sorted(losses) and len({r.learner for r in result.recipes}) == len(losses)
    best_trial = min(result.trials, key=lambda t: t.val_loss)
    assert result.best.loss == best_trial.val_loss and result.best.learner == best_trial.learner
    assert 0 < result.best.loss < 0.45  # x0 alone separates the classes well


def test_regression_search_warm_started_on_a_holdout() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    y = 3 * x[:, 0] + rng.normal(scale=0.1, size=200)
    start = {"lgbm": {"n_estimators": 50, "num_leaves": 4}, "rf": {"n_estimators": 10}}
    result = run_search(x, y, Task.REGRESSION, "rmse", 1, 0,
                        plan_folds(y, Task.REGRESSION, seed=0, k=1), ("lgbm",),
                        starting_points=start)
    assert {t.learner for t in result.trials} == {"lgbm"}
    assert result.trials[0].config["n_estimators"] == 50  # the first trial is the warm start
    assert result.metric == "rmse" and result.best.loss < 3.0


def test_read_trials_skips_non_trial_lines(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text(
        '{"record_id": 0, "iter_per_learner": 1, "logged_metric": null, "trial_time": 0.1,'
        ' "wall_clock_time": 0.2, "validation_loss": 0.3, "config": {"a": 1},'
        ' "learner": "lgbm", "sample_size": 10}\n{"curr_best_record_id": 0}\n')
    trials = read_trials(log)
    assert len(trials) == 1 and trials[0].learner == "lgbm" and trials[0].config == {"a": 1}
