"""The measurable rules of a policy: a decision threshold chosen on validation rows, and the
checks a slice model must pass on its held-out rows before it may serve (fairness across a
protected group, monotone features). A failed check is a breach: the model is registered but
not promoted, and the breach is raised as an alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flows.core.policy.rules import Fairness, Policy
from flows.core.registry.model import FittedModel

MONOTONE_GRID = 11
MONOTONE_ROWS = 200
MONOTONE_TOLERANCE = 1e-6
MIN_GROUP_ROWS = 10


@dataclass(frozen=True)
class Breach:
    rule: str
    feature: str | None
    value: float
    threshold: float
    message: str

    def as_dict(self) -> dict[str, Any]:
        return vars(self).copy()


def choose_threshold(y: np.ndarray, positive: np.ndarray, min_recall: float | None = None,
                     max_false_positive_rate: float | None = None) -> float | None:
    """The decision threshold on the positive class's probability: the highest one whose
    recall reaches ``min_recall``, or the lowest whose false-positive rate stays within
    ``max_false_positive_rate``. None when neither is asked for or no threshold meets it."""
    candidates = np.unique(np.concatenate([positive, [0.0, 1.0 + 1e-9]]))
    actual = y == 1
    if min_recall is not None and actual.any():
        meeting = [t for t in candidates if (positive[actual] >= t).mean() >= min_recall]
        return float(max(meeting)) if meeting else None
    if max_false_positive_rate is not None and (~actual).any():
        meeting = [t for t in candidates
                   if (positive[~actual] >= t).mean() <= max_false_positive_rate]
        return float(min(meeting)) if meeting else None
    return None


def check_policy(policy: Policy, model: FittedModel, features: pd.DataFrame,
                 y: np.ndarray) -> list[Breach]:
    """Every rule of the policy the model breaks on these held-out rows (``y`` in the
    model's own class codes for a classifier)."""
    breaches = []
    if model.threshold is not None and policy.min_recall is not None:
        predicted = model.labels(model.predict_proba(features)) == model.classes[-1]
        recall = float(predicted[y == 1].mean()) if (y == 1).any() else 1.0
        if recall < policy.min_recall:
            breaches.append(Breach("min_recall", None, recall, policy.min_recall,
                                   f"recall {recall:.3f} on held-out rows is below the "
                                   f"policy's {policy.min_recall}"))
    if policy.fairness is not None:
        breaches += fairness_breaches(policy.fairness, model, features, y)
    for feature, direction in policy.monotone.items():
        share = monotone_violations(model, features, feature, direction)
        if share > 0:
            breaches.append(Breach("monotone", feature, share, 0.0,
                                   f"the prediction moves against {feature!r} "
                                   f"({'increasing' if direction > 0 else 'decreasing'} "
                                   f"required) for {share:.1%} of held-out rows"))
    return breaches


def fairness_breaches(rule: Fairness, model: FittedModel, features: pd.DataFrame,
                      y: np.ndarray) -> list[Breach]:
    """Demographic parity and equal opportunity differences across the protected groups
    (groups with fewer than MIN_GROUP_ROWS rows are left out)."""
    if rule.protected not in features.columns or not model.task.is_classification:
        return []
    predicted = model.labels(model.predict_proba(features)) == model.classes[-1]
    groups = features[rule.protected].astype(str).to_numpy()
    positive_rate, recall = {}, {}
    for group in np.unique(groups):
        rows = groups == group
        if rows.sum() < MIN_GROUP_ROWS:
            continue
        positive_rate[group] = float(predicted[rows].mean())
        actual = rows & (y == 1)
        if actual.sum() >= MIN_GROUP_ROWS // 2:
            recall[group] = float(predicted[actual].mean())
    breaches = []
    for name, rates, limit in (
            ("demographic_parity", positive_rate, rule.max_parity_difference),
            ("equal_opportunity", recall, rule.max_equal_opportunity_difference)):
        if len(rates) >= 2:
            gap = max(rates.values()) - min(rates.values())
            if gap > limit:
                breaches.append(Breach(name, rule.protected, gap, limit,
                                       f"{name.replace('_', ' ')} difference {gap:.3f} across "
                                       f"{rule.protected!r} exceeds {limit}"))
    return breaches


def monotone_violations(model: FittedModel, features: pd.DataFrame, feature: str,
                        direction: int) -> float:
    """Share of (up to MONOTONE_ROWS) rows whose prediction moves against ``direction`` as
    ``feature`` sweeps its observed range, everything else held."""
    if feature not in features.columns:
        return 0.0
    values = pd.to_numeric(features[feature], errors="coerce").dropna()
    if values.nunique() < 2:
        return 0.0
    grid = np.unique(np.quantile(values, np.linspace(0, 1, MONOTONE_GRID)))
    rows = features.head(MONOTONE_ROWS)
    swept = pd.concat([rows.assign(**{feature: value}) for value in grid], ignore_index=True)
    output = model.predict_proba(swept)[:, -1] if model.task.is_classification else \
        model.predict_frame(swept)["prediction"].to_numpy()
    curves = output.reshape(len(grid), len(rows)).T * direction
    falls = np.diff(curves, axis=1) < -MONOTONE_TOLERANCE
    return float(falls.any(axis=1).mean())
