"""Integration: the best single candidate, a greedy blend (Caruana), or a stack.

All are judged on the validation rows the search never saw. The ensembles are cross-fitted
there: the rows are cut in two halves, the blend weights or the stack's meta-model are fitted
on one half and predict the other, so an ensemble is never scored on the rows it was fitted
on. An ensemble is kept only if it beats the best single candidate, by enough to pay for its
slower predictions (``prefer``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split

from flows.core.candidates import Candidate, predictions
from flows.core.losses import loss
from flows.core.types import Task

Prefer = Literal["fast", "balanced", "accurate"]
BLEND_ROUNDS = 25
STACK_MAX_MEMBERS = 4
"""The stack takes the best candidates only: each member costs prediction time and a refit."""
GAIN_PER_SLOWDOWN = 0.002
"""Balanced: an ensemble k times slower than the best single model must lower the validation
loss by at least k x 0.2% (10x slower needs a 2% gain)."""
FAST_TOLERANCE = 0.01
"""Fast: the quickest single model whose loss is within 1% of the best one's."""


class _Ensemble(BaseEstimator):  # type: ignore[misc]
    """Fitted members combined by a fixed rule; ``fit`` refits the members, keeping the rule."""

    members: list[Any]

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def fit(self, x: np.ndarray, y: np.ndarray) -> _Ensemble:
        self.members = [clone(member).fit(x, y) for member in self.members]
        return self


class Blend(_Ensemble):
    """A weighted average of fitted members' probabilities (or values)."""

    def __init__(self, members: Sequence[Any], weights: Sequence[float], task: Task,
                 n_classes: int) -> None:
        self.members, self.weights = list(members), weights
        self.task, self.n_classes = task, n_classes

    def _combined(self, x: np.ndarray) -> np.ndarray:
        return sum(w * predictions(m, x, self.task, self.n_classes)
                   for m, w in zip(self.members, self.weights, strict=True))  # type: ignore[return-value]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self._combined(x)

    def predict(self, x: np.ndarray) -> np.ndarray:
        combined = self._combined(x)
        return combined if self.task is Task.REGRESSION else combined.argmax(axis=1)


class Stack(_Ensemble):
    """A linear meta-model over fitted members' outputs (log-probabilities or values)."""

    def __init__(self, members: Sequence[Any], meta: Any, task: Task, n_classes: int) -> None:
        self.members, self.meta, self.task, self.n_classes = list(members), meta, task, n_classes

    def _combined(self, x: np.ndarray) -> np.ndarray:
        features = stack_features(
            [predictions(m, x, self.task, self.n_classes) for m in self.members], self.task)
        return predictions(self.meta, features, self.task, self.n_classes)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self._combined(x)

    def predict(self, x: np.ndarray) -> np.ndarray:
        combined = self._combined(x)
        return combined if self.task is Task.REGRESSION else combined.argmax(axis=1)


@dataclass(frozen=True)
class Integration:
    """What was chosen, from what, and the validation evidence."""

    kind: Literal["single", "blend", "stack"]
    members: tuple[int, ...]
    """Indexes into the candidates list."""
    weights: tuple[float, ...]
    meta: Any
    losses: dict[str, float]
    """Cross-fitted validation loss: per candidate, best single, blend, stack."""
    latency_ms: dict[str, float]
    """Single-row prediction latency of each option."""
    reason: str

    def validation_output(self, candidates: Sequence[Candidate], task: Task,
                          n_classes: int) -> np.ndarray:
        """The chosen model's output on the validation rows: its members' validation
        predictions combined by the chosen rule (what a decision threshold is tuned on)."""
        preds = [candidates[i].valid_predictions for i in self.members]
        if self.kind == "single":
            return preds[0]
        if self.kind == "blend":
            return np.asarray(sum(w * p for w, p in zip(self.weights, preds, strict=True)))
        return predictions(self.meta, stack_features(preds, task), task, n_classes)

    def estimator(self, fitted_members: Sequence[Any], task: Task, n_classes: int) -> Any:
        """The chosen model over ``fitted_members`` (one per index in ``members``)."""
        if self.kind == "single":
            return fitted_members[0]
        if self.kind == "blend":
            return Blend(list(fitted_members), list(self.weights), task, n_classes)
        return Stack(list(fitted_members), self.meta, task, n_classes)

    def as_dict(self, candidates: Sequence[Candidate]) -> dict[str, Any]:
        return {"kind": self.kind, "members": [candidates[i].member.name for i in self.members],
                "weights": list(self.weights), "validation_loss": self.losses,
                "latency_ms_1_row": self.latency_ms, "reason": self.reason,
                "candidates": {c.member.name: {"learner": c.member.learner,
                                               "validation_loss": self.losses[c.member.name],
                                               "fit_s": c.fit_s, "latency_ms": c.latency_ms}
                               for c in candidates}}


def integrate(candidates: Sequence[Candidate], y_valid: np.ndarray, task: Task, metric: str,
              prefer: Prefer, seed: int) -> Integration:
    """Choose between the best single candidate, a blend and a stack (see module doc)."""
    preds = [c.valid_predictions for c in candidates]
    losses = {c.member.name: loss(metric, y_valid, p) for c, p in zip(candidates, preds,
                                                                        strict=True)}
    ranked = sorted(range(len(candidates)), key=lambda i: losses[candidates[i].member.name])
    best, stacked = ranked[0], tuple(sorted(ranked[:STACK_MAX_MEMBERS]))
    stack_preds = [preds[i] for i in stacked]
    halves = _halves(y_valid, task, seed)
    options: dict[str, Callable[[np.ndarray], tuple[np.ndarray, Any]]] = {
        "blend": lambda rows: _blend(preds, y_valid, rows, metric),
        "stack": lambda rows: _stack(stack_preds, y_valid, rows, task, seed),
    }
    for kind, option in options.items():
        losses[kind] = loss(metric, y_valid, _cross_fitted(option, halves, preds))
    # The ensembles are compared with the best candidate's loss on all the validation rows,
    # which flatters the single model (it was picked on those rows): an ensemble must win
    # by more than the luck of that pick.
    losses["single"] = losses[candidates[best].member.name]
    everything = np.arange(len(y_valid))
    weights = _caruana(preds, y_valid, everything, metric)
    used = tuple(int(i) for i in np.flatnonzero(weights))
    latency = {
        "single": candidates[best].latency_ms["1_row"],
        "blend": sum(candidates[i].latency_ms["1_row"] for i in used),
        "stack": sum(candidates[i].latency_ms["1_row"] for i in stacked)}
    kind, reason = _choose(losses, latency, prefer, candidates, best)
    if kind == "single" and prefer == "fast":
        best = _fastest_close(candidates, losses, best)
    if kind == "blend":
        return Integration("blend", used, tuple(float(weights[i]) for i in used), None,
                           losses, latency, reason)
    if kind == "stack":
        meta = _fit_meta(stack_preds, y_valid, everything, task, seed)
        return Integration("stack", stacked, (), meta, losses, latency, reason)
    return Integration("single", (best,), (1.0,), None, losses, latency, reason)


def stack_features(member_predictions: Sequence[np.ndarray], task: Task) -> np.ndarray:
    """Regression values as they are; probabilities as log-odds (binary: the positive class)."""
    if task is Task.REGRESSION:
        return np.column_stack(member_predictions)
    parts = []
    for proba in member_predictions:
        clipped = np.clip(proba, 1e-6, 1 - 1e-6)
        parts.append(np.log(clipped[:, 1:] / clipped[:, :1]) if task is Task.BINARY
                     else np.log(clipped))
    return np.hstack(parts)


def _choose(losses: dict[str, float], latency: dict[str, float], prefer: Prefer,
            candidates: Sequence[Candidate], best: int) -> tuple[str, str]:
    single = losses["single"]
    name = candidates[best].member.name
    if prefer == "fast":
        return "single", "prefer fast: the quickest single model close to the best"
    ensemble = min(("blend", "stack"), key=losses.__getitem__)
    if not losses[ensemble] < single:
        return "single", (f"{ensemble} did not beat the best single model ({name}) on "
                          f"validation rows the search did not use")
    gain = (single - losses[ensemble]) / max(abs(single), 1e-12)
    slowdown = latency[ensemble] / max(latency["single"], 1e-6)
    if prefer == "balanced" and gain < GAIN_PER_SLOWDOWN * slowdown:
        return "single", (f"{ensemble} gained {100 * gain:.2f}% but predicts {slowdown:.1f}x "
                          f"slower than {name}: not worth it (prefer balanced)")
    return ensemble, (f"{ensemble} beat the best single model ({name}) by {100 * gain:.2f}% "
                      f"on validation rows the search did not use, {slowdown:.1f}x its latency")


def _fastest_close(candidates: Sequence[Candidate], losses: dict[str, float], best: int) -> int:
    limit = losses[candidates[best].member.name] * (1 + FAST_TOLERANCE)
    close = [i for i, c in enumerate(candidates) if losses[c.member.name] <= limit]
    return min(close, key=lambda i: candidates[i].latency_ms["1_row"])


def _halves(y: np.ndarray, task: Task, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.arange(len(y))
    stratify = y if task.is_classification and np.bincount(y).min() >= 2 else None
    first, second = train_test_split(rows, test_size=0.5, random_state=seed, stratify=stratify)
    return np.sort(first), np.sort(second)


def _cross_fitted(option: Callable[[np.ndarray], tuple[np.ndarray, Any]],
                  halves: tuple[np.ndarray, np.ndarray],
                  preds: Sequence[np.ndarray]) -> np.ndarray:
    """Each half predicted by the option chosen or fitted on the other half."""
    out = np.zeros_like(preds[0])
    for fit_rows, score_rows in (halves, halves[::-1]):
        _, apply = option(fit_rows)
        out[score_rows] = apply(score_rows)
    return out


def _blend(preds: Sequence[np.ndarray], y: np.ndarray, rows: np.ndarray,
           metric: str) -> tuple[np.ndarray, Any]:
    weights = _caruana(preds, y, rows, metric)
    return weights, lambda score_rows: sum(w * p[score_rows] for w, p in zip(weights, preds,
                                                                              strict=True))


def _stack(preds: Sequence[np.ndarray], y: np.ndarray, rows: np.ndarray, task: Task,
           seed: int) -> tuple[Any, Any]:
    meta = _fit_meta(preds, y, rows, task, seed)
    n_classes = preds[0].shape[1] if preds[0].ndim == 2 else 0

    def apply(score_rows: np.ndarray) -> np.ndarray:
        return predictions(meta, stack_features([p[score_rows] for p in preds], task), task,
                           n_classes)
    return meta, apply


def _caruana(preds: Sequence[np.ndarray], y: np.ndarray, rows: np.ndarray,
             metric: str) -> np.ndarray:
    """Greedy ensemble selection with replacement (Caruana et al., 2004): repeatedly add the
    member that most lowers the loss of the running average."""
    counts = np.zeros(len(preds))
    total: np.ndarray | None = None
    for _ in range(BLEND_ROUNDS):
        size = counts.sum()
        trials = [p[rows] if total is None else (total * size + p[rows]) / (size + 1)
                  for p in preds]
        chosen = int(np.argmin([loss(metric, y[rows], t) for t in trials]))
        counts[chosen] += 1
        total = trials[chosen]
    return counts / counts.sum()


def _fit_meta(preds: Sequence[np.ndarray], y: np.ndarray, rows: np.ndarray, task: Task,
              seed: int) -> Any:
    features = stack_features([p[rows] for p in preds], task)
    if task is Task.REGRESSION:
        return LinearRegression(positive=True).fit(features, y[rows])
    return LogisticRegression(C=1.0, max_iter=2000, random_state=seed).fit(features, y[rows])
