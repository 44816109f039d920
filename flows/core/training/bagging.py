"""Bagging: one configuration fitted on every fold; the fold models are the candidate.

Each fold model predicts its fold's held-out rows, so a candidate comes with out-of-fold
predictions for the training rows (``Folds.scored``), which is what candidates are compared
and ensembled on, and its fold models, averaged, are what serves: no refit, so the model
that is measured is the model that is registered. Fold fits are independent; they run one
after the other here, each given an equal part of what is left of the candidate's time, on
one thread for small tables (fit_threads).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flows.core.training.ensemble import Bag
from flows.core.training.folds import Folds
from flows.core.training.latency import matrix_latency, set_single_threaded
from flows.core.training.learners import (
    MIN_ROUNDS,
    ROUNDS_PARAM,
    Config,
    FoldFit,
    Matrix,
    fewer_rounds,
    fit_fold,
    fit_threads,
    predict_outputs,
    rounds_of,
)
from flows.core.types import Task

OVERRUN = 1.5
OVERRUN_SLACK_S = 0.2
"""A bag past OVERRUN times its time (plus this) with folds still to fit is given up: a fold
model that cannot stop at its deadline (a first chunk of trees, a library's set-up) may run
over it, and a prior that misjudged the learner must not cost the rest of the run."""
PROBE_SHARE = 0.25
"""The most of a candidate's time its first fold (the probe) may take."""
PROBE_SAFETY = 0.85
"""Of the per-fold time left, what the trees of a refitted configuration are planned to use."""


class OverBudget(Exception):
    """A bag given up part-way: how long its folds took, to learn the learner's cost from."""

    def __init__(self, config: Config, fits: list[FoldFit], seconds: float, k: int) -> None:
        spent = sum(fit.seconds for fit in fits)
        super().__init__(f"given up after {len(fits)} of {k} folds: {spent:.1f} s, "
                         f"{seconds:.1f} s planned for all")
        self.config, self.fits, self.spent = config, fits, spent


@dataclass(frozen=True)
class Candidate:
    """A configuration bagged over the folds."""

    config: Config
    fold_fits: tuple[FoldFit, ...] = field(repr=False)
    oof: np.ndarray = field(repr=False)
    """Out-of-fold predictions of the scored training rows (``Folds.scored``), in order."""
    fit_s: float
    latency_ms: dict[str, float]
    """Milliseconds to predict one row and 1,000 rows (prepared features), every fold."""

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def learner(self) -> str:
        return self.config.learner

    @property
    def rounds(self) -> list[int]:
        return [fit.rounds for fit in self.fold_fits]

    @property
    def stopped(self) -> list[str]:
        return [fit.stopped for fit in self.fold_fits]

    def estimator(self, data: Matrix) -> Bag:
        return bag_of([fit.estimator for fit in self.fold_fits], data.task, data.n_classes)


def bag_of(estimators: list[Any], task: Task, n_classes: int) -> Bag:
    """The fold models as one estimator, their outputs averaged. CatBoost's are merged into
    one model holding all their trees, each scaled by 1/k (``catboost.sum_models``): CatBoost
    spends ~0.5 ms on every predict call whatever the rows, so a bag of 8 answered one row in
    ~4 ms, merged in 0.2 ms. The merged raw score is the mean of theirs, exactly; a classifier's
    probabilities then come from the mean log-odds rather than the mean of probabilities."""
    if len(estimators) > 1 and type(estimators[0]).__module__.startswith("catboost"):
        from catboost import CatBoostError, sum_models

        try:
            merged = sum_models(estimators, weights=[1 / len(estimators)] * len(estimators))
            return Bag([merged], task, n_classes)
        except CatBoostError:  # folds that cannot be merged (their classes differ): averaged
            pass
    return Bag(estimators, task, n_classes)


def fit_bag(config: Config, data: Matrix, folds: Folds, seed: int, n_jobs: int,
            seconds: float | None = None) -> Candidate:
    """``config`` fitted on every fold, in ``seconds`` in all when given (each fold gets an
    equal part of what is left); its out-of-fold predictions and single-row latency.

    With a time limit the first fold is also a probe: it gets at most PROBE_SHARE of the
    time, and when it runs out of time before its trees are grown, the configuration is
    refitted with as many trees as the time affords, at a proportionally higher learning
    rate (the run would rather have a whole model than a third of one)."""
    started = time.monotonic()
    threads = fit_threads(data, n_jobs)
    fits: list[FoldFit] = []
    while len(fits) < folds.k:
        index = len(fits)
        fit_rows, predict_rows = folds.pairs[index]
        deadline = None
        if seconds is not None:
            now = time.monotonic()
            share = (started + seconds - now) / (folds.k - index)
            deadline = now + (min(share, PROBE_SHARE * seconds) if index == 0 else share)
        fold = fit_fold(config, data, fit_rows, predict_rows, seed + index, threads, deadline)
        fewer = _affordable(config, fold, folds.k, started, seconds) if index == 0 else None
        if fewer is not None:
            config = fewer
            continue
        set_single_threaded(fold.estimator)
        fits.append(fold)
        if seconds is not None and len(fits) < folds.k \
                and time.monotonic() - started > OVERRUN * seconds + OVERRUN_SLACK_S:
            raise OverBudget(config, fits, seconds, folds.k)
    width = (len(data.y), data.n_classes) if data.task.is_classification else len(data.y)
    out_of_fold = np.zeros(width)
    for fold, (_, predict_rows) in zip(fits, folds.pairs, strict=True):
        out_of_fold[predict_rows] = predict_outputs(fold.estimator, data.x[predict_rows],
                                                    data.task, data.n_classes)
    fit_s = time.monotonic() - started
    bag = bag_of([fit.estimator for fit in fits], data.task, data.n_classes)
    return Candidate(config, tuple(fits), out_of_fold[folds.scored], fit_s,
                     matrix_latency(bag.predict_proba if data.task.is_classification
                                    else bag.predict, data.x[folds.scored]))


def _affordable(config: Config, probe: FoldFit, k: int, started: float,
                seconds: float | None) -> Config | None:
    """The configuration with the trees the time left affords, when the probe fold ran out of
    time before growing its own; None when the probe stands."""
    if seconds is None or probe.stopped != "deadline" or config.learner not in ROUNDS_PARAM:
        return None
    per_round = probe.seconds / max(probe.rounds, 1)
    left = started + seconds - time.monotonic()
    rounds = int(PROBE_SAFETY * left / k / per_round)
    if rounds < MIN_ROUNDS or rounds >= rounds_of(config):
        return None
    return fewer_rounds(config, rounds)
