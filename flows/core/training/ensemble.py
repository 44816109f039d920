"""Integration: the best single candidate, a greedy blend (Caruana), or a stack.

All are judged on the candidates' out-of-fold predictions of the training rows (no fit saw
the row it predicts). The ensembles are cross-fitted there: the rows are cut in two halves,
the blend weights or the stack's meta-model are fitted on one half and predict the other, so
an ensemble is never scored on the rows it was fitted on. An ensemble is kept only if it
beats the best single candidate, by enough to pay for its slower predictions (``prefer``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split

from flows.core.records.training import CandidateFacts, IntegrationFacts
from flows.core.training.learners import predict_outputs
from flows.core.training.losses import loss
from flows.core.types import Task

if TYPE_CHECKING:
    from flows.core.training.bagging import Candidate

Prefer = Literal["fast", "balanced", "accurate"]
BLEND_ROUNDS = 40
"""Caruana selection steps (with replacement): AutoGluon's choice; past ~25 the weights
barely move, and each step costs one loss per candidate."""
STACK_MAX_MEMBERS = 4
"""The stack takes the best candidates only: each member costs prediction time and a refit."""
BALANCED_LATENCY_MS = 9.0
"""Balanced: the model answers one row within this as the fit measures it, preprocessing
included; an ensemble's members together too (when no candidate does, the quickest is kept).
What balanced promises is 10 ms as a caller in a fresh process measures it
(benchmarks/peers.py), which came out up to 1.1-1.4x the fit's measure at 6dbd76b (taxis
8.1 -> 10.7 ms, adult 6.7 -> 9.2, phoneme 9.7 -> 10.9): the fit keeps 10% headroom."""
GAIN_PER_MS = 0.001
"""Balanced: an ensemble must lower the validation loss by 0.1% for every millisecond it adds
to the best single model's answer (within BALANCED_LATENCY_MS, at most ~1%). A rule on the
relative slowdown instead refused ensembles that answer in a few ms because the best single
model took a fraction of one (diamonds: a stack 3% better refused for being 23x slower than a
0.3 ms model)."""
FAST_TOLERANCE = 0.01
"""Fast: the quickest single model whose loss is within 1% of the best one's."""


class _Ensemble(BaseEstimator):  # type: ignore[misc]
    """Fitted members combined by a fixed rule (nothing is fitted again)."""

    members: list[Any]

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def fit(self, x: np.ndarray, y: np.ndarray) -> _Ensemble:
        """scikit-learn requires the method; the members are fitted, and stay as they are."""
        raise TypeError("an ensemble of fitted members is not fitted again")


class Blend(_Ensemble):
    """A weighted average of fitted members' probabilities (or values)."""

    def __init__(self, members: Sequence[Any], weights: Sequence[float], task: Task,
                 n_classes: int) -> None:
        self.members, self.weights = list(members), weights
        self.task, self.n_classes = task, n_classes

    def _combined(self, x: np.ndarray) -> np.ndarray:
        return sum(w * member_outputs(m, x, self.task, self.n_classes)
                   for m, w in zip(self.members, self.weights, strict=True))  # type: ignore[return-value]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self._combined(x)

    def predict(self, x: np.ndarray) -> np.ndarray:
        combined = self._combined(x)
        return combined if self.task is Task.REGRESSION else combined.argmax(axis=1)


class Bag(Blend):
    """The fold models of one configuration, their outputs averaged."""

    def __init__(self, members: Sequence[Any], task: Task, n_classes: int) -> None:
        super().__init__(members, [1 / len(members)] * len(members), task, n_classes)


class Stack(_Ensemble):
    """A linear meta-model over fitted members' outputs (log-probabilities or values)."""

    def __init__(self, members: Sequence[Any], meta: Any, task: Task, n_classes: int) -> None:
        self.members, self.meta, self.task, self.n_classes = list(members), meta, task, n_classes

    def _combined(self, x: np.ndarray) -> np.ndarray:
        features = stack_features(
            [member_outputs(m, x, self.task, self.n_classes) for m in self.members], self.task)
        return member_outputs(self.meta, features, self.task, self.n_classes)

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
    caller_ms: float | None = None
    """The assembled model's single-row latency as a caller waits for it (validation and
    the answer's frame included), where it was measured."""

    def validation_output(self, candidates: Sequence[Candidate], task: Task,
                          n_classes: int) -> np.ndarray:
        """The chosen model's output on the scored training rows: its members' out-of-fold
        predictions combined by the chosen rule (what a decision threshold is tuned on)."""
        preds = [candidates[i].oof for i in self.members]
        if self.kind == "single":
            return preds[0]
        if self.kind == "blend":
            return np.asarray(sum(w * p for w, p in zip(self.weights, preds, strict=True)))
        return member_outputs(self.meta, stack_features(preds, task), task, n_classes)

    def estimator(self, fitted_members: Sequence[Any], task: Task, n_classes: int) -> Any:
        """The chosen model over ``fitted_members`` (one per index in ``members``)."""
        if self.kind == "single":
            return fitted_members[0]
        if self.kind == "blend":
            return Blend(list(fitted_members), list(self.weights), task, n_classes)
        return Stack(list(fitted_members), self.meta, task, n_classes)

    def facts(self, candidates: Sequence[Candidate]) -> IntegrationFacts:
        """The choice and its evidence, for the summary, the card and the report."""
        return IntegrationFacts(
            kind=self.kind, members=[candidates[i].name for i in self.members],
            weights=list(self.weights), validation_loss=_finite(self.losses),
            latency_ms_1_row=self.latency_ms, caller_ms_1_row=self.caller_ms,
            reason=self.reason,
            candidates={c.name: CandidateFacts(
                learner=c.learner, origin=c.config.origin,
                validation_loss=_finite(self.losses)[c.name], fit_s=c.fit_s,
                latency_ms=c.latency_ms, fold_rounds=c.rounds, stopped=c.stopped)
                for c in candidates})


def _finite(losses: dict[str, float]) -> dict[str, float | None]:
    """Losses with the undefined ones (NaN, infinite) as None, as JSON carries them."""
    return {name: value if math.isfinite(value) else None for name, value in losses.items()}


def integrate(candidates: Sequence[Candidate], y_valid: np.ndarray, task: Task, metric: str,
              prefer: Prefer, seed: int, overhead_ms: float = 0.0,
              timed: bool = True, latency_scale: float = 1.0) -> Integration:
    """Choose between the best single candidate, a blend and a stack (see module doc).
    ``overhead_ms`` is what every prediction costs before a model runs (preprocessing): the
    latencies weighed are what a caller waits for. With ``prefer`` balanced (and fast), the
    model answers one row within BALANCED_LATENCY_MS: the best candidate that does, and
    ensembles of members whose latencies add up to it (the quickest candidate when none
    does). ``latency_scale`` corrects the candidates' measured latencies (what an assembled
    model was measured to cost over their sum). Without
    ``timed`` (a run with a model count, which must not depend on the clock) no measured time
    decides: balanced weighs loss alone, and fast takes the model with the fewest trees."""
    preds = [c.oof for c in candidates]
    measured = [latency_scale * c.latency_ms["1_row"] for c in candidates]
    costs = measured
    losses = {c.name: loss(metric, y_valid, p) for c, p in zip(candidates, preds, strict=True)}
    ranked = sorted(range(len(candidates)), key=lambda i: losses[candidates[i].name])
    if not timed:
        prefer = "fast" if prefer == "fast" else "accurate"
        costs = [float(sum(c.rounds) or len(c.rounds)) for c in candidates]
    limit = None if prefer == "accurate" or not timed else BALANCED_LATENCY_MS - overhead_ms
    quick = [i for i in ranked if limit is None or costs[i] <= limit]
    best = quick[0] if quick else min(ranked, key=costs.__getitem__)
    limit = None if limit is None else max(limit, costs[best])
    stacked = _within(ranked, costs, limit, STACK_MAX_MEMBERS)
    stack_preds = [preds[i] for i in stacked]
    halves = _halves(y_valid, task, seed)
    options: dict[str, Callable[[np.ndarray], tuple[np.ndarray, Any]]] = {
        "blend": lambda rows: _blend(preds, y_valid, rows, metric, costs, limit),
        "stack": lambda rows: _stack(stack_preds, y_valid, rows, task, seed),
    }
    for kind, option in options.items():
        losses[kind] = loss(metric, y_valid, _cross_fitted(option, halves, preds))
    # The ensembles are compared with the best candidate's loss on all the scored rows,
    # which flatters the single model (it was picked on those rows): an ensemble must win
    # by more than the luck of that pick.
    losses["single"] = losses[candidates[best].name]
    everything = np.arange(len(y_valid))
    weights = _caruana(preds, y_valid, everything, metric, costs=costs, limit=limit)
    used = tuple(int(i) for i in np.flatnonzero(weights))
    latency = {"single": overhead_ms + measured[best],
               "blend": overhead_ms + sum(measured[i] for i in used),
               "stack": overhead_ms + sum(measured[i] for i in stacked)}
    kind, reason = _choose(losses, latency, prefer, candidates, best)
    if best != ranked[0]:
        slow = candidates[ranked[0]]
        reason += (f"; {slow.name} scored better but answers one row in "
                   f"{overhead_ms + measured[ranked[0]]:.1f} ms, over the "
                   f"{BALANCED_LATENCY_MS:g} ms of prefer {prefer}")
    if kind == "single" and prefer == "fast":
        best = _fastest_close(candidates, losses, best, costs)
    if kind == "blend":
        return Integration("blend", used, tuple(float(weights[i]) for i in used), None,
                           losses, latency, reason)
    if kind == "stack":
        meta = _fit_meta(stack_preds, y_valid, everything, task, seed)
        return Integration("stack", tuple(stacked), (), meta, losses, latency, reason)
    return Integration("single", (best,), (1.0,), None, losses, latency, reason)


def _within(ranked: Sequence[int], costs: Sequence[float], limit: float | None,
            most: int) -> tuple[int, ...]:
    """The best candidates (by rank), at most ``most``, whose latencies fit under ``limit``;
    in their original order."""
    chosen: list[int] = []
    for index in ranked:
        if len(chosen) == most:
            break
        if limit is None or sum(costs[i] for i in chosen) + costs[index] <= limit:
            chosen.append(index)
    return tuple(sorted(chosen))


def member_outputs(member: Any, x: np.ndarray, task: Task, n_classes: int) -> np.ndarray:
    """A member's class probabilities (every class) or values: an ensemble's own, or the
    library estimator's through its fast path."""
    if isinstance(member, _Ensemble):
        return member.predict_proba(x) if task.is_classification else member.predict(x)
    return predict_outputs(member, x, task, n_classes)


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
    name = candidates[best].name
    if prefer == "fast":
        return "single", "prefer fast: the quickest single model close to the best"
    ensemble = min(("blend", "stack"), key=losses.__getitem__)
    if not losses[ensemble] < single:
        return "single", (f"{ensemble} did not beat the best single model ({name}) on "
                          f"out-of-fold predictions")
    gain = (single - losses[ensemble]) / max(abs(single), 1e-12)
    added = max(0.0, latency[ensemble] - latency["single"])
    if prefer == "balanced" and gain < GAIN_PER_MS * added:
        return "single", (f"{ensemble} gained {100 * gain:.2f}% but adds {added:.1f} ms to "
                          f"{name}'s answer: not worth it (prefer balanced asks "
                          f"{100 * GAIN_PER_MS:.1f}% per ms)")
    return ensemble, (f"{ensemble} beat the best single model ({name}) by {100 * gain:.2f}% "
                      f"on out-of-fold predictions, for {added:.1f} ms more per row")


def _fastest_close(candidates: Sequence[Candidate], losses: dict[str, float], best: int,
                   costs: Sequence[float]) -> int:
    limit = losses[candidates[best].name] * (1 + FAST_TOLERANCE)
    close = [i for i, c in enumerate(candidates) if losses[c.name] <= limit]
    return min(close, key=lambda i: costs[i])


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


def _blend(preds: Sequence[np.ndarray], y: np.ndarray, rows: np.ndarray, metric: str,
           costs: Sequence[float], limit: float | None) -> tuple[np.ndarray, Any]:
    weights = _caruana(preds, y, rows, metric, costs=costs, limit=limit)
    return weights, lambda score_rows: sum(w * p[score_rows] for w, p in zip(weights, preds,
                                                                              strict=True))


def _stack(preds: Sequence[np.ndarray], y: np.ndarray, rows: np.ndarray, task: Task,
           seed: int) -> tuple[Any, Any]:
    meta = _fit_meta(preds, y, rows, task, seed)
    n_classes = preds[0].shape[1] if preds[0].ndim == 2 else 0

    def apply(score_rows: np.ndarray) -> np.ndarray:
        return member_outputs(meta, stack_features([p[score_rows] for p in preds], task), task,
                           n_classes)
    return meta, apply


def _caruana(preds: Sequence[np.ndarray], y: np.ndarray, rows: np.ndarray,
             metric: str, rounds: int = BLEND_ROUNDS, costs: Sequence[float] | None = None,
             limit: float | None = None) -> np.ndarray:
    """Greedy ensemble selection with replacement (Caruana et al., 2004): repeatedly add the
    member that most lowers the loss of the running average. With ``limit``, a candidate not
    yet in the ensemble may join only while the members' ``costs`` stay under it."""
    counts = np.zeros(len(preds))
    total: np.ndarray | None = None
    for _ in range(rounds):
        size = counts.sum()
        spent = sum(c for c, n in zip(costs or [], counts, strict=False) if n)
        trials = [np.inf if limit is not None and costs is not None and not counts[i]
                  and spent + costs[i] > limit
                  else loss(metric, y[rows], p[rows] if total is None
                            else (total * size + p[rows]) / (size + 1))
                  for i, p in enumerate(preds)]
        chosen = int(np.argmin(trials))
        counts[chosen] += 1
        total = preds[chosen][rows] if total is None \
            else (total * size + preds[chosen][rows]) / (size + 1)
    return counts / counts.sum()


def greedy_loss(preds: Sequence[np.ndarray], y: np.ndarray, metric: str,
                max_rows: int = 5_000, rounds: int = 15) -> float:
    """The loss of a quick greedy ensemble of ``preds`` (on at most ``max_rows`` rows, evenly
    spaced): enough to tell whether a new candidate still helps."""
    rows = np.linspace(0, len(y) - 1, min(len(y), max_rows)).astype(int)
    weights = _caruana([p[rows] for p in preds], y[rows], np.arange(len(rows)), metric, rounds)
    return loss(metric, y[rows], np.asarray(sum(w * p[rows] for w, p in zip(weights, preds,
                                                                              strict=True))))


def _fit_meta(preds: Sequence[np.ndarray], y: np.ndarray, rows: np.ndarray, task: Task,
              seed: int) -> Any:
    features = stack_features([p[rows] for p in preds], task)
    if task is Task.REGRESSION:
        return LinearRegression(positive=True).fit(features, y[rows])
    return LogisticRegression(C=1.0, max_iter=2000, random_state=seed).fit(features, y[rows])
