"""FLAML's tuner with the time the portfolio left, warm-started from its best configuration.

The leading boosted learner (the best LightGBM or XGBoost candidate) is tuned first: at these
budgets one learner searched from a strong start gains more than several searched from
scratch; FLAML stops a search that has converged, and the time then left goes to the other.
The tuner cross-validates on the run's folds; its best configuration, when it beats
the starting one, is bagged like every other candidate with the time that remains. With a
model count (``--max-models``) there is no tuner: nothing may depend on the clock.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

from flows.core.pipeline.budget import Clock
from flows.core.pipeline.candidates import Fitting, fit_candidates
from flows.core.training.bagging import Candidate
from flows.core.training.folds import Folds
from flows.core.training.learners import Config, Matrix
from flows.core.training.losses import loss
from flows.core.training.portfolio import native_params
from flows.core.training.tuning import SearchError, run_search

if TYPE_CHECKING:
    from flows.core.pipeline.fit import FitOptions

TUNABLE = ("lgbm", "xgboost")
TUNE_MIN_S = 6.0
"""Below this much time left the tuner finishes a trial or two at best: not worth starting."""
SEARCH_SHARE = 0.5
BAG_RESERVE = 2.0
"""The search gets the time left but what bagging its best configuration will take, predicted
as BAG_RESERVE times the leader's own bag (a tuned configuration may grow more trees), and at
least SEARCH_SHARE of it. A fixed half left 10-17 s of a 60 s budget unused on small tables,
where a bag takes a second or two (breast_cancer, pima_diabetes at 6dbd76b)."""


def tune_leaders(fitting: Fitting, data: Matrix, folds: Folds, clock: Clock, metric: str,
                 options: FitOptions) -> Fitting:
    """``fitting`` with the tuned configurations' candidates and the tuner's trials added:
    the leading LightGBM or XGBoost candidate first, then, when FLAML's search converged
    early and time is left, the best candidate of the other one."""
    for learner in _leaders(fitting.candidates, data, folds, metric):
        if clock.counted or clock.fit_seconds_left() < TUNE_MIN_S:
            break
        fitting = _tuned(fitting, learner, data, folds, clock, metric, options)
    return fitting


def _tuned(fitting: Fitting, leader: Candidate, data: Matrix, folds: Folds, clock: Clock,
           metric: str, options: FitOptions) -> Fitting:
    """``leader``'s configuration searched from, and the best found bagged."""
    left = clock.fit_seconds_left()
    offset = time.monotonic() - clock.started
    try:
        found = run_search(data.x, data.y, data.task, metric,
                           max(left * SEARCH_SHARE, left - BAG_RESERVE * leader.fit_s),
                           options.seed, folds, (leader.learner,), options.n_jobs,
                           data.weights, {leader.learner: leader.config.flaml_params or {}},
                           options.constraints)
    except SearchError:
        return fitting
    best = found.best
    trials = tuple(replace(t, number=len(fitting.trials) + i, learner=f"{t.learner} (tuner)",
                           wall_clock_s=offset + t.wall_clock_s)
                   for i, t in enumerate(found.trials))
    if best.config == leader.config.flaml_params:
        return replace(fitting, trials=fitting.trials + trials)
    tuned = Config(f"{leader.name}_tuned", leader.learner,
                   native_params(leader.learner, data.task, best.config),
                   f"FLAML tuner, warm-started from {leader.name}", 1.0, best.config)
    more = fit_candidates((tuned,), data, folds, clock, metric, options.seed, options.n_jobs,
                          stage="tune", number_from=len(fitting.trials) + len(trials))
    return replace(fitting, candidates=fitting.candidates + more.candidates,
                   trials=fitting.trials + trials + more.trials,
                   skipped=fitting.skipped + more.skipped,
                   notes=fitting.notes | more.notes)


def _leaders(candidates: tuple[Candidate, ...], data: Matrix, folds: Folds,
             metric: str) -> list[Candidate]:
    """The best candidate of each tunable learner that has a FLAML configuration, best
    first."""
    y = data.y[folds.scored]
    ranked = sorted((c for c in candidates
                     if c.learner in TUNABLE and c.config.flaml_params is not None),
                    key=lambda c: loss(metric, y, c.oof))
    best: dict[str, Candidate] = {}
    for candidate in ranked:
        best.setdefault(candidate.learner, candidate)
    return list(best.values())
