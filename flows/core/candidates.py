"""Candidates: the search's best configuration per learner and the baselines, each fitted on
the search rows and scored on validation rows the search never saw.

Their validation predictions are what the integration stage chooses and blends from, and
their prediction latency is what lets it weigh accuracy against speed. Which configurations
get fitted depends on the time left: each costs about what its best trial cost, and is paid
twice (now, and again in the final refit on every row).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone

from flows.core.search import Recipe
from flows.core.types import Task

REFIT_COST_FACTOR = 2.6
"""A candidate's fit now, plus its refit later on about 1.6x the rows."""


@dataclass(frozen=True)
class Member:
    """How to fit one candidate (again): a search recipe, or a baseline's estimator."""

    name: str
    learner: str
    recipe: Recipe | None = None
    template: Any = field(default=None, repr=False)

    def fit(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None,
            n_jobs: int) -> Any:
        if self.recipe is not None:
            return self.recipe.fit(x, y, sample_weight, n_jobs)
        estimator = clone(self.template)
        if "allow_writing_files" in estimator.get_params():  # CatBoost: no catboost_info/
            estimator.set_params(allow_writing_files=False, train_dir=None)
        return estimator.fit(x, y)


@dataclass(frozen=True)
class Candidate:
    member: Member
    estimator: Any = field(repr=False)
    """Fitted on the search rows."""
    valid_predictions: np.ndarray = field(repr=False)
    fit_s: float
    latency_ms: dict[str, float]
    """Milliseconds to predict one row and 1,000 rows (prepared features)."""


def affordable_recipes(recipes: tuple[Recipe, ...], seconds_left: float) -> list[Recipe]:
    """The best recipes, best first, whose fits (now and in the final refit) fit in the time
    left; the best one always, even over time: a run must produce a model."""
    chosen: list[Recipe] = []
    spent = 0.0
    for recipe in recipes:
        cost = REFIT_COST_FACTOR * recipe.fit_s
        if chosen and spent + cost > seconds_left:
            continue
        chosen.append(recipe)
        spent += cost
    return chosen


def fit_candidates(members: list[Member], x_fit: np.ndarray, y_fit: np.ndarray,
                   weight_fit: np.ndarray | None, x_valid: np.ndarray, task: Task,
                   n_classes: int, n_jobs: int, deadline: float) -> list[Candidate]:
    """Fit each member in turn until ``deadline`` (time.monotonic()); the first always."""
    fitted: list[Candidate] = []
    for member in members:
        if fitted and time.monotonic() > deadline:
            break
        started = time.monotonic()
        try:
            estimator = member.fit(x_fit, y_fit, weight_fit, n_jobs)
        except Exception:  # a configuration that cannot be refit is simply not a candidate
            continue
        fitted.append(as_candidate(member, estimator, x_valid, task, n_classes,
                                   time.monotonic() - started))
    return fitted


def as_candidate(member: Member, estimator: Any, x_valid: np.ndarray, task: Task,
                 n_classes: int, fit_s: float) -> Candidate:
    """Score an already fitted estimator: validation predictions and latency."""
    set_single_threaded(estimator)
    return Candidate(member=member, estimator=estimator,
                     valid_predictions=predictions(estimator, x_valid, task, n_classes),
                     fit_s=fit_s, latency_ms=latency_ms(estimator, x_valid, task))


def predictions(estimator: Any, x: np.ndarray, task: Task, n_classes: int) -> np.ndarray:
    """Class probabilities (every class, even one a fit never saw) or regression values."""
    if task is Task.REGRESSION:
        return np.asarray(estimator.predict(x), dtype=float)
    proba = np.asarray(estimator.predict_proba(x), dtype=float)
    if proba.shape[1] == n_classes:
        return proba
    full = np.zeros((len(x), n_classes))
    full[:, np.asarray(estimator.classes_, dtype=int)] = proba
    return full


def latency_ms(estimator: Any, x: np.ndarray, task: Task) -> dict[str, float]:
    """Median of a few single-row predictions, and one 1,000-row batch."""
    predict = estimator.predict if task is Task.REGRESSION else estimator.predict_proba
    single = []
    for index in range(min(7, len(x))):
        started = time.perf_counter()
        predict(x[index:index + 1])
        single.append(time.perf_counter() - started)
    batch = np.resize(x, (1000, x.shape[1]))
    started = time.perf_counter()
    predict(batch)
    return {"1_row": 1000 * float(np.median(single)),
            "1000_rows": 1000 * (time.perf_counter() - started)}


def set_single_threaded(estimator: Any) -> None:
    """Serving predicts a few rows at a time: extra threads only add contention."""
    if hasattr(estimator, "get_params") and "n_jobs" in estimator.get_params():
        estimator.set_params(n_jobs=1)
