"""Candidates: the search's best configuration per learner and the baselines, each fitted on
the search rows and scored on validation rows the search never saw.

Their validation predictions are what the integration stage chooses and blends from, and
their prediction latency is what lets it weigh accuracy against speed. Which configurations
get fitted depends on the time left: each costs about what its best trial cost, and is paid
twice (now, and again in the final refit on every row).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone

from flows.core.search import Recipe
from flows.core.types import Task

REFIT_COST_FACTOR = 2.6
"""A candidate's fit now, plus its refit later on about 1.6x the rows."""
CROSS_FIT_COST_FACTOR = 6.6
"""Small tables: five fold fits on 80% of the rows, one fit on all, and the final refit."""


@dataclass(frozen=True)
class Validation:
    """Where candidates are judged. Usually a holdout of the training part the search never
    saw; on small tables, out-of-fold predictions over every training row (see
    ``training.plan_validation``)."""

    fit_rows: np.ndarray
    """The rows the search runs on, and the candidates are fitted on."""
    valid_rows: np.ndarray
    """The rows whose predictions the integration judges."""
    folds: tuple[tuple[np.ndarray, np.ndarray], ...] = ()
    """Cross-fitted: (train, predict) index pairs covering every row."""

    @property
    def cross_fitted(self) -> bool:
        return bool(self.folds)

    def describe(self) -> str:
        if self.cross_fitted:
            return (f"{len(self.folds)}-fold out-of-fold predictions on all "
                    f"{len(self.valid_rows)} training rows")
        return f"holdout of {len(self.valid_rows)} training rows the search never saw"


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
        return clone(self.template).fit(x, y)


@dataclass(frozen=True)
class Candidate:
    member: Member
    estimator: Any = field(repr=False)
    """Fitted on the search rows."""
    valid_predictions: np.ndarray = field(repr=False)
    fit_s: float
    latency_ms: dict[str, float]
    """Milliseconds to predict one row and 1,000 rows (prepared features)."""


def affordable_recipes(recipes: tuple[Recipe, ...], seconds_left: float,
                       cross_fitted: bool = False) -> list[Recipe]:
    """The best recipes, best first, whose fits (now and in the final refit) fit in the time
    left; the best one always, even over time: a run must produce a model."""
    factor = CROSS_FIT_COST_FACTOR if cross_fitted else REFIT_COST_FACTOR
    chosen: list[Recipe] = []
    spent = 0.0
    for recipe in recipes:
        cost = factor * recipe.fit_s
        if chosen and spent + cost > seconds_left:
            continue
        chosen.append(recipe)
        spent += cost
    return chosen


def fit_candidates(members: list[Member], x: np.ndarray, y: np.ndarray,
                   weights: np.ndarray | None, validation: Validation, task: Task,
                   n_classes: int, n_jobs: int, deadline: float,
                   fitted: dict[str, Any] | None = None) -> list[Candidate]:
    """Fit each member in turn until ``deadline`` (time.monotonic()); the first always.
    ``fitted`` holds estimators already fitted on the fit rows (the baselines)."""
    candidates: list[Candidate] = []
    for member in members:
        if candidates and time.monotonic() > deadline and member.name not in (fitted or {}):
            break
        started = time.monotonic()
        try:
            estimator, predicted = _fit_and_predict(member, x, y, weights, validation, task,
                                                    n_classes, n_jobs, fitted or {})
        except Exception:  # a configuration that cannot be refit is simply not a candidate
            continue
        set_single_threaded(estimator)
        candidates.append(Candidate(
            member=member, estimator=estimator, valid_predictions=predicted,
            fit_s=time.monotonic() - started,
            latency_ms=latency_ms(estimator, x[validation.valid_rows], task)))
    return candidates


def _fit_and_predict(member: Member, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None,
                     validation: Validation, task: Task, n_classes: int, n_jobs: int,
                     fitted: dict[str, Any]) -> tuple[Any, np.ndarray]:
    """The member fitted on the fit rows, and its predictions of the validation rows (out of
    fold when cross-fitted)."""
    def fit(rows: np.ndarray) -> Any:
        return member.fit(x[rows], y[rows], None if weights is None else weights[rows], n_jobs)

    estimator = fitted[member.name] if member.name in fitted else fit(validation.fit_rows)
    if not validation.cross_fitted:
        return estimator, predictions(estimator, x[validation.valid_rows], task, n_classes)
    out_of_fold = np.zeros((len(y), n_classes) if task.is_classification else len(y))
    for train, predict in validation.folds:
        out_of_fold[predict] = predictions(fit(train), x[predict], task, n_classes)
    return estimator, out_of_fold[validation.valid_rows]


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
    """The estimator's latency on prepared rows (see ``timed_latency``)."""
    predict = estimator.predict if task is Task.REGRESSION else estimator.predict_proba
    return timed_latency(predict, [x[i:i + 1] for i in range(min(7, len(x)))],
                         np.resize(x, (1000, x.shape[1])))


def timed_latency(predict: Callable[[Any], Any], single_rows: list[Any],
                  batch: Any) -> dict[str, float]:
    """Milliseconds: the median of a few single-row calls, and one call on ``batch``."""
    single = []
    for row in single_rows:
        started = time.perf_counter()
        predict(row)
        single.append(time.perf_counter() - started)
    started = time.perf_counter()
    predict(batch)
    return {"1_row": 1000 * float(np.median(single)),
            "1000_rows": 1000 * (time.perf_counter() - started)}


def set_single_threaded(estimator: Any) -> None:
    """Serving predicts a few rows at a time: extra threads only add contention."""
    if hasattr(estimator, "get_params") and "n_jobs" in estimator.get_params():
        estimator.set_params(n_jobs=1)
