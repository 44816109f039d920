"""Choosing what to register: the search's winner or a baseline, on validation data.

FLAML picks its winner among its own trials; with a short budget that winner can be
under-trained and lose to a plain baseline. Every candidate's configuration is therefore
refit on 80% of the training part and scored on the other 20% (stratified, the same rows for
every candidate) with the search metric, and the best one is registered. One holdout, not
cross-validation: about one extra fit per candidate. The test part stays unseen until the
final evaluation; the flow keeps this step inside the user's budget by giving the search
that much less time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import log_loss, mean_squared_error
from sklearn.model_selection import train_test_split

from flows.core.types import Task

VALIDATION_SHARE = 0.2
MAX_ROWS = 50_000


@dataclass(frozen=True)
class Selection:
    chosen: str
    metric: str
    losses: dict[str, float]
    method: str

    def as_dict(self) -> dict[str, Any]:
        return {"chosen": self.chosen, "metric": self.metric, "losses": self.losses,
                "method": self.method}


def select(candidates: dict[str, Any], x: np.ndarray, y: np.ndarray, task: Task,
           seed: int) -> Selection:
    """The candidate (role -> fitted estimator) whose refit scores best on validation."""
    folds, method = _folds(x, y, task, seed)
    losses = {role: _validation_loss(estimator, x, y, task, folds)
              for role, estimator in candidates.items()}
    finite = {role: loss for role, loss in losses.items() if np.isfinite(loss)}
    chosen = min(finite, key=finite.__getitem__) if finite else next(iter(candidates))
    metric = "rmse" if task is Task.REGRESSION else "log_loss"
    return Selection(chosen=chosen, metric=metric, losses=losses, method=method)


def _folds(x: np.ndarray, y: np.ndarray, task: Task,
           seed: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    rows = np.arange(len(x))
    stratify = y if task.is_classification else None
    if len(rows) > MAX_ROWS:  # enough to rank candidates; the refits stay cheap
        rows, _ = train_test_split(rows, train_size=MAX_ROWS, random_state=seed,
                                   stratify=stratify)
        stratify = y[rows] if task.is_classification else None
    train, valid = train_test_split(rows, test_size=VALIDATION_SHARE, random_state=seed,
                                    stratify=stratify)
    return [(train, valid)], "holdout: 20% of the training part"


def _validation_loss(estimator: Any, x: np.ndarray, y: np.ndarray, task: Task,
                     folds: list[tuple[np.ndarray, np.ndarray]]) -> float:
    losses = []
    for train, valid in folds:
        model = clone(estimator)
        if "allow_writing_files" in model.get_params():  # CatBoost: no catboost_info/ dirs
            model.set_params(allow_writing_files=False, train_dir=None)
        try:
            model.fit(x[train], y[train])
        except Exception:  # a candidate that cannot be refit is not chosen
            return float("inf")
        if task is Task.REGRESSION:
            predicted = model.predict(x[valid])
            losses.append(float(np.sqrt(mean_squared_error(y[valid], predicted))))
        else:
            proba = _full_proba(model, x[valid], int(y.max()) + 1)
            losses.append(float(log_loss(y[valid], np.clip(proba, 1e-15, 1 - 1e-15),
                                         labels=list(range(proba.shape[1])))))
    return float(np.mean(losses))


def _full_proba(model: Any, x: np.ndarray, classes: int) -> np.ndarray:
    """Probabilities for every class, even those missing from a fold's training rows."""
    proba = np.asarray(model.predict_proba(x))
    if proba.shape[1] == classes:
        return proba
    full = np.zeros((len(x), classes))
    full[:, np.asarray(model.classes_, dtype=int)] = proba
    return full
