"""Model search: FLAML over gradient boosting, forests and linear models within a budget.

FLAML gets the already-prepared numeric matrix, so the model it returns slots straight into
our pipeline after the fitted preprocessing. Every trial is read back from FLAML's own trial
log (the leaderboard); the live best score is read off FLAML's logger for the progress display.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from flaml import AutoML, tune
from sklearn.exceptions import ConvergenceWarning

from flows.core.errors import AutopipeError
from flows.core.progress import ProgressEvent, emit
from flows.core.types import LOWER_IS_BETTER, Task, Trial

LEARNERS: dict[Task, tuple[str, ...]] = {
    Task.BINARY: ("lgbm", "xgboost", "catboost", "rf", "extra_tree", "lrl1"),
    Task.MULTICLASS: ("lgbm", "xgboost", "catboost", "rf", "extra_tree", "lrl1"),
    Task.REGRESSION: ("lgbm", "xgboost", "catboost", "rf", "extra_tree", "enet"),
}
# Binary searches minimise log loss, not 1 - AUROC: AUROC ignores calibration, and on a small
# separable table the search kept a 4-tree model with AUROC 1.0 whose every probability sat
# on one side of 0.5 (accuracy 0.74; 1.0 with log loss, same AUROC). AUROC stays the main
# reported metric.
SEARCH_METRIC: dict[Task, str] = {
    Task.BINARY: "log_loss", Task.MULTICLASS: "log_loss", Task.REGRESSION: "rmse"}
# FLAML starts CatBoost at 8192 rounds and relies on early stopping, which never comes on a
# nearly separable table: one trial took 17 s of a 3 s budget. Search the rounds instead.
CUSTOM_SPACE: dict[str, dict[str, Any]] = {
    "catboost": {"n_estimators": {"domain": tune.lograndint(lower=16, upper=4096),
                                  "init_value": 64, "low_cost_init_value": 16}},
}
_FLAML_PROGRESS = re.compile(
    r"at (?P<at>[\d.]+)s,\s+estimator \S+'s best error=\S+,\s+"
    r"best estimator (?P<learner>\S+)'s best error=(?P<loss>\S+)")


class SearchError(AutopipeError):
    """The search could not produce a model."""


@dataclass(frozen=True)
class SearchResult:
    learner: str
    config: dict[str, Any]
    metric: str
    best_score: float
    trials: tuple[Trial, ...]
    estimator: Any


def score_from_loss(metric: str, loss: float) -> float:
    """FLAML minimises a loss; show people the metric itself (AUROC, not 1 - AUROC)."""
    return loss if metric in LOWER_IS_BETTER else 1.0 - loss


def run_search(x: np.ndarray, y: np.ndarray, task: Task, budget_s: float, seed: int,
               n_jobs: int = -1, learners: tuple[str, ...] | None = None,
               sample_weight: np.ndarray | None = None) -> SearchResult:
    """Search within ``budget_s`` seconds; return the best model refit on all of ``x``."""
    metric = SEARCH_METRIC[task]
    automl = AutoML()
    with tempfile.TemporaryDirectory(prefix="autopipe-search-") as tmp, \
            _progress_from_flaml_logs(metric, budget_s), warnings.catch_warnings():
        # A trial that stops early is normal in a budgeted search, not news for the user.
        warnings.simplefilter("ignore", ConvergenceWarning)
        log_file = Path(tmp) / "trials.jsonl"
        automl.fit(
            x, y, task="regression" if task is Task.REGRESSION else "classification",
            metric=metric, time_budget=budget_s, estimator_list=list(learners or LEARNERS[task]),
            seed=seed, n_jobs=n_jobs, log_file_name=str(log_file), log_type="all", verbose=3,
            ensemble=False, retrain_full="budget", model_history=False, early_stop=True,
            custom_hp=CUSTOM_SPACE,
            # FLAML splits whatever sample_weight it is given, None included: pass it only
            # when there are weights.
            **({"sample_weight": sample_weight} if sample_weight is not None else {}))
        trials = read_trials(log_file)
    if automl.model is None or automl.best_estimator is None:
        raise SearchError(f"no model finished training within {budget_s:g} s",
                          "raise the budget with --budget")
    _single_threaded(automl.model.estimator)
    return SearchResult(
        learner=automl.best_estimator, config=dict(automl.best_config or {}), metric=metric,
        best_score=score_from_loss(metric, float(automl.best_loss)), trials=trials,
        estimator=automl.model)


def read_trials(log_file: Path) -> tuple[Trial, ...]:
    """Every trial FLAML logged, in order."""
    if not log_file.exists():
        return ()
    trials = []
    for line in log_file.read_text().splitlines():
        entry = json.loads(line)
        if "learner" not in entry:
            continue
        trials.append(Trial(
            number=int(entry["record_id"]), learner=entry["learner"],
            config=entry.get("config") or {}, val_loss=float(entry["validation_loss"]),
            trial_time_s=float(entry["trial_time"]),
            wall_clock_s=float(entry["wall_clock_time"])))
    return tuple(trials)


def _single_threaded(estimator: Any) -> None:
    """Serving predicts a few rows at a time: extra threads only add contention."""
    if hasattr(estimator, "get_params") and "n_jobs" in estimator.get_params():
        estimator.set_params(n_jobs=1)


class _FlamlProgressHandler(logging.Handler):
    def __init__(self, metric: str, budget_s: float) -> None:
        super().__init__(logging.INFO)
        self.metric, self.budget_s = metric, budget_s

    def emit(self, record: logging.LogRecord) -> None:
        match = _FLAML_PROGRESS.search(record.getMessage())
        if match:
            emit(ProgressEvent(
                stage="search", status="running", elapsed_s=float(match["at"]),
                budget_s=self.budget_s, best_learner=match["learner"], metric=self.metric,
                best_score=score_from_loss(self.metric, float(match["loss"]))))


@contextlib.contextmanager
def _progress_from_flaml_logs(metric: str, budget_s: float) -> Iterator[None]:
    """Our handler on FLAML's logger also keeps FLAML from printing to stdout."""
    flaml_logger = logging.getLogger("flaml.automl.logger")
    handler = _FlamlProgressHandler(metric, budget_s)
    flaml_logger.addHandler(handler)
    try:
        yield
    finally:
        flaml_logger.removeHandler(handler)
