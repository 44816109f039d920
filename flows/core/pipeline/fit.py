"""Fitting one model, from the prepared training part to an evaluated, explained model.

The global model of a run and every slice model go through ``fit_model``; only their data,
clock and allowed learners differ. It needs no Prefect: the flows wrap it. Its stages, each
measured (wall, CPU, peak memory):

- baseline: scikit-learn defaults fitted on the training part, the yardstick in every report;
- portfolio: strong configurations bagged over the folds, in order, under the budget
  controller (pipeline/budget.py, pipeline/candidates.py);
- tune: FLAML's tuner with the time the portfolio left, warm-started from its best
  configurations (training/tuning.py);
- integrate: the best candidate, a Caruana blend or a stack, chosen on out-of-fold
  predictions, weighing accuracy against latency (training/ensemble.py);
- evaluate and explain: on the test part, which no fit has seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from flows.core.evaluation.held_out import (
    caller_ms,
    evaluate_model,
    explain_model,
    preparation_ms,
)
from flows.core.pipeline.budget import Clock
from flows.core.pipeline.candidates import Fitting, fit_candidates
from flows.core.pipeline.tuned import tune_leaders
from flows.core.preparation.prepared import PreparedData, as_model
from flows.core.records.card import Configuration, Explanations
from flows.core.records.training import FitFacts, IntegrationFacts, SkippedFacts, TrainingFacts
from flows.core.registry.model import FittedModel
from flows.core.resources import stage
from flows.core.training.bagging import Candidate
from flows.core.training.baseline import fit_baselines
from flows.core.training.ensemble import BALANCED_LATENCY_MS, Integration, Prefer, integrate
from flows.core.training.folds import Folds, plan_folds
from flows.core.training.learners import Config, Matrix, fit_threads
from flows.core.training.losses import search_metric
from flows.core.training.portfolio import Constraints, build_portfolio
from flows.core.types import Evaluation, StageUsage, Trial

LATENCY_RECHOICES = 2
"""How many times the latency-aware choice is made again when the assembled model answers
slower than its members' latencies promised."""


@dataclass(frozen=True)
class FitOptions:
    """How to fit: the run's choices, the same for the global model and every slice."""

    seed: int
    n_jobs: int
    metric: str | None = None
    prefer: Prefer = "balanced"
    max_models: int | None = None
    """Fit exactly this many configurations, whatever the clock says (reproducible runs)."""
    learners: tuple[str, ...] | None = None
    """The learners a slice's policy allows, or None for all."""
    constraints: Constraints | None = None
    """Tree limits a policy asks for."""
    first: tuple[Config, ...] = ()
    """Configurations to fit before the portfolio's (the champion's, on retraining)."""


@dataclass
class Fitted:
    """What fitting one model produced."""

    model: FittedModel
    """The registered model: the fold models of the chosen candidates, exactly as evaluated."""
    evaluations: list[Evaluation]
    explained: Explanations
    fitting: Fitting
    integration: IntegrationFacts
    folds: Folds
    metric: str
    evaluated: dict[str, FittedModel] = field(repr=False)
    """The model and the baselines as evaluated on the test part."""
    validation_output: Any = field(default=None, repr=False)
    """The chosen model's out-of-fold output on the scored training rows, and their targets."""
    validation_y: Any = field(default=None, repr=False)
    stages: list[StageUsage] = field(default_factory=list)
    """Each stage's wall time, CPU time and peak memory, in order."""

    @property
    def trials(self) -> tuple[Trial, ...]:
        return self.fitting.trials

    @property
    def configurations(self) -> dict[str, Configuration]:
        """Every fitted configuration: what a retraining starts from."""
        return {c.name: Configuration(learner=c.learner, params=c.config.params,
                                      flaml_params=c.config.flaml_params,
                                      origin=c.config.origin)
                for c in self.fitting.candidates}

    def training_facts(self) -> TrainingFacts:
        """How the model was made, for the summary, the card and the report."""
        return TrainingFacts(
            folds=self.folds.describe(), fold_count=self.folds.k,
            portfolio=[_fit_facts(c, self.fitting.notes.get(c.name))
                       for c in self.fitting.candidates],
            skipped=[SkippedFacts(name=s.name, reason=s.reason) for s in self.fitting.skipped],
            stopped_early=self.fitting.stopped_early)


def fit_model(prepared: PreparedData, options: FitOptions, version: str, clock: Clock,
              announce: bool = True) -> Fitted:
    """Every stage from the baselines to the explanations, within ``clock``."""
    usages: list[StageUsage] = []
    task = prepared.task
    metric = search_metric(task, options.metric)
    data = Matrix(prepared.x_train, prepared.split.y_train, prepared.sample_weight, task,
                  len(prepared.split.classes))
    with stage("baseline", usages, announce):
        baselines = fit_baselines(data.x, data.y, task, options.seed,
                                  fit_threads(data, options.n_jobs))
    folds = plan_folds(data.y, task, options.seed)
    configs = build_portfolio(task, data.x, data.y, options.learners, options.constraints,
                              options.first)
    with stage("portfolio", usages, announce):
        fitting = fit_candidates(configs, data, folds, clock, metric, options.seed,
                                 options.n_jobs)
    with stage("tune", usages, announce):
        fitting = tune_leaders(fitting, data, folds, clock, metric, options)
    y_scored = data.y[folds.scored]
    with stage("integrate", usages, announce):
        integration, chosen_model = _integrate(fitting, data, y_scored, prepared, options,
                                               metric, version, clock)
    evaluated = {"model": chosen_model} | {
        role: as_model(prepared, base, base_learner, f"{version}-{role}")
        for role, (base_learner, base) in baselines.items()}
    with stage("evaluate", usages, announce):
        evaluations = [evaluate_model(model, prepared, role)
                       for role, model in evaluated.items()]
    with stage("explain", usages, announce):
        explained = explain_model(evaluated["model"], prepared, options.seed,
                                  None if clock.counted else clock.seconds_left())
    model = replace(evaluated["model"], reference_row=explained.reference_row)
    evaluated["model"] = model
    return Fitted(model=model, evaluations=evaluations, explained=explained, fitting=fitting,
                  integration=integration.facts(fitting.candidates), folds=folds,
                  metric=metric, evaluated=evaluated,
                  validation_output=integration.validation_output(
                      fitting.candidates, task, data.n_classes),
                  validation_y=y_scored, stages=usages)


def _integrate(fitting: Fitting, data: Matrix, y_scored: np.ndarray, prepared: PreparedData,
               options: FitOptions, metric: str, version: str,
               clock: Clock) -> tuple[Integration, FittedModel]:
    """The chosen model, assembled. With a clock and prefer balanced or fast, its single-row
    latency is then measured as a caller waits for it (the members' own latencies add up to
    less); over BALANCED_LATENCY_MS, the choice is made again with every member's latency
    scaled by what the assembled model cost over its estimate (the excess grows with the
    members: each adds its wrappers and fold calls), at most LATENCY_RECHOICES times."""
    timed = not clock.counted
    probe = as_model(prepared, fitting.candidates[0].estimator(data), "probe", version)
    overhead = preparation_ms(probe, prepared.split.x_test) if timed else 0.0
    notes: list[str] = []
    scale = 1.0
    attempts = LATENCY_RECHOICES + 1 if timed and options.prefer != "accurate" else 1
    for attempt in range(1, attempts + 1):
        integration = integrate(fitting.candidates, y_scored, data.task, metric,
                                options.prefer, options.seed, overhead, timed=timed,
                                latency_scale=scale)
        chosen = [fitting.candidates[i] for i in integration.members]
        model = as_model(prepared, integration.estimator([c.estimator(data) for c in chosen],
                                                         data.task, data.n_classes),
                         _learner_name(integration, chosen), version)
        if attempts == 1:
            break
        waited = caller_ms(model, prepared.split.x_test)
        integration = replace(integration, caller_ms=waited,
                              reason="; ".join([integration.reason, *notes]))
        if waited <= BALANCED_LATENCY_MS or attempt == attempts:
            break
        notes.append(f"{model.learner} answered one row in {waited:.1f} ms as a caller waits "
                     f"for it, over {BALANCED_LATENCY_MS:g} ms: chosen again")
        estimate = integration.latency_ms[integration.kind]
        scale *= max(1.0, (waited - overhead) / max(estimate - overhead, 1e-3))
    return integration, model


def _fit_facts(candidate: Candidate, note: str | None) -> FitFacts:
    return FitFacts(name=candidate.name, learner=candidate.learner,
                    origin=candidate.config.origin, fit_s=candidate.fit_s,
                    fold_rounds=candidate.rounds, stopped=sorted(set(candidate.stopped)),
                    latency_ms_1_row=candidate.latency_ms["1_row"], planned=note)


def _learner_name(integration: Integration, chosen: list[Candidate]) -> str:
    if integration.kind == "single":
        return chosen[0].name
    return f"{integration.kind}({'+'.join(c.name for c in chosen)})"

