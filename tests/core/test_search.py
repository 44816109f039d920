from __future__ import annotations

import time

import numpy as np
import pytest

from flows.core.search import read_trials, run_search, score_from_loss
from flows.core.types import Task


def test_score_from_loss_shows_the_metric_itself() -> None:
    assert score_from_loss("roc_auc", 0.25) == 0.75
    assert score_from_loss("rmse", 3.0) == 3.0


def test_a_short_search_keeps_its_budget_and_logs_every_trial() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] + 0.3 * rng.normal(size=300) > 0).astype(int)
    started = time.perf_counter()
    result = run_search(x, y, Task.BINARY, budget_s=2, seed=0, n_jobs=1)
    elapsed = time.perf_counter() - started
    assert elapsed < 2 + 4  # budget plus the final refit
    assert result.metric == "log_loss"
    assert 0 < result.best_score < 0.45  # x0 alone separates the classes well
    assert result.trials and result.learner in {t.learner for t in result.trials}
    best_trial = min(result.trials, key=lambda t: t.val_loss)
    assert score_from_loss("log_loss", best_trial.val_loss) == pytest.approx(result.best_score)
    proba = result.estimator.predict_proba(x)
    assert proba.shape == (300, 2)


def test_regression_search_restricted_to_one_learner() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    y = 3 * x[:, 0] + rng.normal(scale=0.1, size=200)
    result = run_search(x, y, Task.REGRESSION, budget_s=1, seed=0, learners=("lgbm",))
    assert {t.learner for t in result.trials} == {"lgbm"}
    assert result.metric == "rmse" and result.best_score < 3.0


def test_read_trials_skips_non_trial_lines(tmp_path: object) -> None:
    from pathlib import Path

    log = Path(str(tmp_path)) / "log.jsonl"
    log.write_text(
        '{"record_id": 0, "iter_per_learner": 1, "logged_metric": null, "trial_time": 0.1,'
        ' "wall_clock_time": 0.2, "validation_loss": 0.3, "config": {"a": 1},'
        ' "learner": "lgbm", "sample_size": 10}\n{"curr_best_record_id": 0}\n')
    trials = read_trials(log)
    assert len(trials) == 1 and trials[0].learner == "lgbm" and trials[0].config == {"a": 1}
