"""The traditional baselines every winner is measured against: scikit-learn defaults."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge

from flows.core.types import Task


def baseline_estimators(task: Task, seed: int) -> dict[str, tuple[str, Any]]:
    """Role -> (learner name, unfitted estimator) with library defaults."""
    if task.is_classification:
        return {
            "baseline_linear": ("logistic_regression", LogisticRegression(max_iter=1000)),
            "baseline_hgb": ("hist_gradient_boosting",
                             HistGradientBoostingClassifier(random_state=seed)),
        }
    return {
        "baseline_linear": ("ridge", Ridge()),
        "baseline_hgb": ("hist_gradient_boosting",
                         HistGradientBoostingRegressor(random_state=seed)),
    }


def fit_baselines(x: np.ndarray, y: np.ndarray, task: Task,
                  seed: int) -> dict[str, tuple[str, Any]]:
    """Fit each baseline on the prepared training matrix."""
    fitted = {}
    with warnings.catch_warnings():
        # Library defaults may stop before converging: that is what a baseline measures.
        warnings.simplefilter("ignore", ConvergenceWarning)
        for role, (learner, estimator) in baseline_estimators(task, seed).items():
            fitted[role] = (learner, estimator.fit(x, y))
    return fitted
