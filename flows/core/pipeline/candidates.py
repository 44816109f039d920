"""The portfolio's configurations bagged in order, under the budget controller.

Each configuration is planned (started in full, with fewer trees, or skipped: budget.py),
bagged over the folds, and scored on its out-of-fold predictions; every fit is a row of the
run's leaderboard. The portfolio stops early when PATIENCE configurations in a row have not
improved the best greedy ensemble of the candidates so far: the rest would mostly cost time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flows.core.pipeline.budget import Clock, CostModel, Plan, Skipped, plan_fit
from flows.core.progress import ProgressEvent, emit
from flows.core.training.bagging import Candidate, OverBudget, fit_bag
from flows.core.training.ensemble import greedy_loss
from flows.core.training.folds import Folds
from flows.core.training.learners import Config, Matrix, rounds_of
from flows.core.training.losses import loss, score_from_loss
from flows.core.types import Trial

PATIENCE = 4
MIN_GAIN = 1e-4
"""Relative loss improvement that counts as one (smaller is noise)."""


@dataclass(frozen=True)
class Fitting:
    """How the candidates were made: what was fitted, planned differently, or skipped."""

    candidates: tuple[Candidate, ...]
    trials: tuple[Trial, ...]
    skipped: tuple[Skipped, ...]
    notes: dict[str, str]
    """Per fitted configuration, how the controller changed it (fewer rounds), if it did."""
    stopped_early: str | None = None


def fit_candidates(configs: tuple[Config, ...], data: Matrix, folds: Folds, clock: Clock,
                   metric: str, seed: int, n_jobs: int, stage: str = "portfolio",
                   number_from: int = 0) -> Fitting:
    """Bag ``configs`` in order within the clock (or the first ``clock.max_models``)."""
    cost = CostModel(len(data.y), data.x.shape[1], data.n_classes, folds.k)
    y_scored = data.y[folds.scored]
    candidates: list[Candidate] = []
    trials: list[Trial] = []
    skipped: list[Skipped] = []
    notes: dict[str, str] = {}
    best, stale, stopped = float("inf"), 0, None
    for index, config in enumerate(configs):
        if clock.counted and len(candidates) + number_from >= (clock.max_models or 0):
            break
        remaining = configs[index:]
        share = config.share / sum(c.share for c in remaining)
        plan = plan_fit(config, clock, cost, share, first=not candidates and not number_from)
        if isinstance(plan, Skipped):
            skipped.append(plan)
            continue
        candidate = _fit(plan, data, folds, seed, n_jobs, cost)
        if isinstance(candidate, str):
            skipped.append(Skipped(config.name, candidate))
            continue
        cost.observe(candidate.config, candidate.rounds, candidate.fit_s)
        if candidate.config != plan.config:
            notes[config.name] = (f"{rounds_of(candidate.config)} of {rounds_of(config)} "
                                  f"rounds: its first fold ran out of time")
        elif plan.note:
            notes[config.name] = plan.note
        candidates.append(candidate)
        value = loss(metric, y_scored, candidate.oof)
        trials.append(Trial(number=number_from + len(trials), learner=config.name,
                            config=candidate.config.params, val_loss=value,
                            trial_time_s=candidate.fit_s,
                            wall_clock_s=time.monotonic() - clock.started))
        ensemble = greedy_loss([c.oof for c in candidates], y_scored, metric)
        stale = 0 if ensemble < best - MIN_GAIN * abs(best) else stale + 1
        best = min(best, ensemble)
        _announce(stage, clock, candidates, trials, metric, best)
        if stale >= PATIENCE and not clock.counted:
            stopped = (f"{PATIENCE} configurations in a row did not improve the ensemble: "
                       f"{len(configs) - index - 1} not fitted")
            break
    return Fitting(tuple(candidates), tuple(trials), tuple(skipped), notes, stopped)


def _fit(plan: Plan, data: Matrix, folds: Folds, seed: int, n_jobs: int,
         cost: CostModel) -> Candidate | str:
    """The bag, or why there is none: given up past its time (its folds so far still teach
    the cost model), or refused by the library on this table: a configuration that cannot be
    fitted is not a candidate, and the run says why."""
    try:
        return fit_bag(plan.config, data, folds, seed, n_jobs, plan.seconds)
    except OverBudget as over:
        cost.observe(over.config, [f.rounds for f in over.fits],
                     over.spent * folds.k / len(over.fits))
        return str(over)
    except MemoryError:
        raise
    except Exception as error:  # any library's refusal of this one configuration
        return f"the fit failed: {type(error).__name__}: {str(error)[:200]}"


def _announce(stage: str, clock: Clock, candidates: list[Candidate], trials: list[Trial],
              metric: str, ensemble_loss: float) -> None:
    best = min(trials, key=lambda t: t.val_loss)
    emit(ProgressEvent(
        stage=stage, status="running", elapsed_s=time.monotonic() - clock.started,
        budget_s=clock.budget, best_learner=best.learner, metric=metric,
        best_score=score_from_loss(metric, min(best.val_loss, ensemble_loss)),
        message=f"{len(candidates)} fitted"))
