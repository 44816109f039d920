"""FLAML's tuner: a search of a learner's configurations, on the run's own folds.

FLAML gets the already-prepared numeric matrix, so every configuration it finds slots straight
into our pipeline after the fitted preprocessing, and it cross-validates on the folds the
candidates are bagged on (a holdout above ~100k rows), so a class with a handful of rows
meets FLAML exactly as it meets the portfolio. The search returns each learner's best
configuration (a Recipe), not a fitted model: the pipeline bags the best one. Every trial is
read back from FLAML's own trial log (the leaderboard); the live best score is read off
FLAML's logger for the progress display.
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
from flows.core.training.folds import Folds
from flows.core.training.losses import score_from_loss
from flows.core.training.portfolio import Constraints
from flows.core.types import Task, Trial

_FLAML_PROGRESS = re.compile(
    r"at (?P<at>[\d.]+)s,\s+estimator \S+'s best error=\S+,\s+"
    r"best estimator (?P<learner>\S+)'s best error=(?P<loss>\S+)")


class SearchError(AutopipeError):
    """The search could not produce a model."""


@dataclass(frozen=True)
class Recipe:
    """A learner and the configuration the search found best for it (FLAML's names)."""

    learner: str
    config: dict[str, Any]
    loss: float


@dataclass(frozen=True)
class SearchResult:
    metric: str
    recipes: tuple[Recipe, ...]
    """The best configuration of every learner that finished a trial, best first."""
    trials: tuple[Trial, ...]

    @property
    def best(self) -> Recipe:
        return self.recipes[0]


def run_search(x: np.ndarray, y: np.ndarray, task: Task, metric: str, budget_s: float,
               seed: int, folds: Folds, learners: tuple[str, ...], n_jobs: int = -1,
               sample_weight: np.ndarray | None = None,
               starting_points: dict[str, dict[str, Any]] | None = None,
               constraints: Constraints | None = None) -> SearchResult:
    """Search within ``budget_s`` seconds on ``folds``; return each learner's best
    configuration. FLAML refits nothing (``retrain_full=False``): the pipeline bags the best."""
    automl = AutoML()
    if folds.holdout:
        fit, valid = folds.pairs[0]
        data: dict[str, Any] = {"X_train": x[fit], "y_train": y[fit], "X_val": x[valid],
                                "y_val": y[valid], "eval_method": "holdout"}
        weights = None if sample_weight is None else sample_weight[fit]
    else:
        data = {"X_train": x, "y_train": y, "eval_method": "cv",
                "split_type": _FoldSplitter(folds)}
        weights = sample_weight
    with tempfile.TemporaryDirectory(prefix="autopipe-search-") as tmp, \
            _progress_from_flaml_logs(metric, budget_s), warnings.catch_warnings():
        # A trial that stops early is normal in a budgeted search, not news for the user.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        log_file = Path(tmp) / "trials.jsonl"
        automl.fit(
            **data, task="regression" if task is Task.REGRESSION else "classification",
            metric=metric, time_budget=budget_s, estimator_list=list(learners),
            seed=seed, n_jobs=n_jobs, log_file_name=str(log_file), log_type="all", verbose=3,
            ensemble=False, retrain_full=False, model_history=False, early_stop=True,
            custom_hp=constrained_space(constraints or Constraints()),
            starting_points=_usable_starting_points(starting_points, learners),
            # FLAML splits whatever sample_weight it is given, None included: pass it only
            # when there are weights.
            **({"sample_weight": weights} if weights is not None else {}))
        trials = read_trials(log_file)
    recipes = _recipes(automl)
    if not recipes:
        raise SearchError(f"no model finished training within {budget_s:g} s",
                          "raise the budget with --budget")
    return SearchResult(metric=metric, recipes=recipes, trials=trials)


class _FoldSplitter:
    """The run's folds as the splitter object FLAML's cross-validation accepts."""

    def __init__(self, folds: Folds) -> None:
        self.folds = folds

    def get_n_splits(self, *args: Any, **kwargs: Any) -> int:
        return self.folds.k

    def split(self, *args: Any, **kwargs: Any) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        yield from self.folds.pairs


def constrained_space(constraints: Constraints) -> dict[str, dict[str, Any]]:
    """Search-space overrides for a policy: trees of at most ``max_leaves`` leaves, and
    monotone constraints (one of -1, 0, 1 per encoded feature) for LightGBM and XGBoost."""
    space: dict[str, dict[str, Any]] = {}
    max_leaves, monotone = constraints.max_leaves, constraints.monotone
    if max_leaves is not None:
        leaves = {"domain": tune.lograndint(lower=2, upper=max_leaves + 1),
                  "init_value": min(4, max_leaves), "low_cost_init_value": 2}
        for learner in ("lgbm", "xgboost", "rf", "extra_tree"):
            key = "num_leaves" if learner == "lgbm" else "max_leaves"
            space.setdefault(learner, {})[key] = leaves
    if monotone is not None:
        space.setdefault("lgbm", {})["monotone_constraints"] = {"domain": list(monotone)}
        space.setdefault("xgboost", {})["monotone_constraints"] = {
            "domain": "(" + ",".join(str(v) for v in monotone) + ")"}
    return space


def _recipes(automl: AutoML) -> tuple[Recipe, ...]:
    losses = automl.best_loss_per_estimator or {}
    configs = automl.best_config_per_estimator or {}
    recipes = []
    for learner, config in configs.items():
        loss = losses.get(learner)
        if not config or loss is None or not np.isfinite(loss):
            continue
        recipes.append(Recipe(
            learner=learner, loss=float(loss),
            config={k: v for k, v in config.items() if k != "FLAML_sample_size"}))
    return tuple(sorted(recipes, key=lambda r: r.loss))


def _usable_starting_points(points: dict[str, dict[str, Any]] | None,
                            learners: tuple[str, ...]) -> dict[str, dict[str, Any]] | None:
    """A previous champion's configurations, for the learners this search runs."""
    if not points:
        return None
    usable = {learner: config for learner, config in points.items() if learner in learners}
    return usable or None


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


class _FlamlProgressHandler(logging.Handler):
    def __init__(self, metric: str, budget_s: float) -> None:
        super().__init__(logging.INFO)
        self.metric, self.budget_s = metric, budget_s

    def emit(self, record: logging.LogRecord) -> None:
        match = _FLAML_PROGRESS.search(record.getMessage())
        if match:
            emit(ProgressEvent(
                stage="tune", status="running", elapsed_s=float(match["at"]),
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
