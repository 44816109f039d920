"""Folds for bagging: which training rows each fold model learns from and predicts.

Every candidate is fitted once per fold and each fold model predicts only the rows it did not
learn from, so the out-of-fold predictions cover every training row at most once and never
come from a model that saw the row. Those predictions are what candidates are compared and
ensembled on; the fold models together are the model that serves (no refit).

Classes are dealt round-robin over the folds after a seeded shuffle, one class after the
other, so a class with fewer rows than folds still leaves some of its rows in every fold's
training part (scikit-learn's StratifiedKFold warns per fold there, and a learner that meets a
class in its validation rows it never learnt fails: CatBoost does). A class with a single
training row cannot be learnt and predicted out of fold: that row is in every fold's training
part and has no out-of-fold prediction (``unscored``; the run says so).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.core.types import Task

FOLDS_BY_ROWS: tuple[tuple[int, int], ...] = ((5_000, 8), (20_000, 5), (100_000, 3))
"""(up to this many training rows, this many folds); above the last, one holdout. More folds
mean more rows per fold model and steadier out-of-fold predictions, at k fits per candidate:
past a few thousand rows the extra folds cost more candidates than they gain (see
benchmarks/README.md, "Bagging")."""
HOLDOUT_SHARE = 0.2
HOLDOUT_MAX_ROWS = 50_000


@dataclass(frozen=True)
class Folds:
    """(fit rows, predict rows) per fold, over training rows 0..rows-1."""

    pairs: tuple[tuple[np.ndarray, np.ndarray], ...]
    rows: int

    @property
    def k(self) -> int:
        return len(self.pairs)

    @property
    def holdout(self) -> bool:
        return self.k == 1

    @property
    def scored(self) -> np.ndarray:
        """The rows with an out-of-fold prediction, in order."""
        return np.sort(np.concatenate([predict for _, predict in self.pairs]))

    @property
    def unscored(self) -> int:
        return self.rows - len(self.scored)

    def describe(self) -> str:
        if self.holdout:
            return (f"holdout: one model fitted on {len(self.pairs[0][0])} training rows, "
                    f"judged on the other {len(self.pairs[0][1])}")
        text = (f"{self.k}-fold bagging: {self.k} fold models, out-of-fold predictions for "
                f"{len(self.scored)} training rows")
        if self.unscored:
            text += (f" ({self.unscored} row(s) of classes with a single training row are in "
                     f"every fold's training part and not scored)")
        return text


def fold_count(rows: int) -> int:
    """How many folds a table of ``rows`` training rows is bagged over (1: a holdout)."""
    return next((k for limit, k in FOLDS_BY_ROWS if rows <= limit), 1)


def plan_folds(y: np.ndarray, task: Task, seed: int, k: int | None = None) -> Folds:
    """The folds of training targets ``y`` (class indices for classifiers), seeded."""
    rows = len(y)
    k = fold_count(rows) if k is None else k
    rng = np.random.default_rng(seed)
    if k == 1:
        return _holdout(y, task, rng)
    fold_of = _dealt_by_class(np.asarray(y, dtype=int), k, rng) if task.is_classification \
        else rng.permutation(rows) % k
    pairs = tuple((np.flatnonzero(fold_of != fold), np.flatnonzero(fold_of == fold))
                  for fold in range(k))
    return Folds(pairs, rows)


def _dealt_by_class(y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Each row's fold: every class's rows, shuffled, dealt round-robin, the deal carrying on
    from class to class; rows of single-row classes get -1 (never predicted)."""
    fold_of = np.full(len(y), -1)
    dealt = 0
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        if len(rows) < 2:
            continue
        fold_of[rng.permutation(rows)] = (dealt + np.arange(len(rows))) % k
        dealt += len(rows)
    return fold_of


def _holdout(y: np.ndarray, task: Task, rng: np.random.Generator) -> Folds:
    """One split: HOLDOUT_SHARE of the rows (at most HOLDOUT_MAX_ROWS) are predicted, taken
    per class so every class keeps rows in the fitted part."""
    rows = len(y)
    share = min(HOLDOUT_SHARE, HOLDOUT_MAX_ROWS / rows)
    groups = [np.flatnonzero(y == label) for label in np.unique(y)] \
        if task.is_classification else [np.arange(rows)]
    predicted = []
    for group in groups:
        take = round(share * len(group)) if len(group) >= 2 else 0
        predicted.append(rng.permutation(group)[:min(take, len(group) - 1)])
    predict = np.sort(np.concatenate(predicted))
    fit = np.setdiff1d(np.arange(rows), predict)
    return Folds(((fit, predict),), rows)
