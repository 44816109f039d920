"""Fitting one model from prepared data: baselines, search, candidates, integration,
evaluation, explanations and the refit, each a Prefect task measured as a stage.

The global model of a run and every slice model go through the same function; only their
data, budget and allowed learners differ.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sklearn.base import clone

from flows import tasks
from flows.core.candidates import Candidate, Member, Validation, affordable_recipes
from flows.core.ensemble import Integration, Prefer
from flows.core.losses import search_metric
from flows.core.model import FittedModel
from flows.core.progress import ProgressEvent, emit
from flows.core.resources import measure
from flows.core.search import SearchResult
from flows.core.training import PreparedData, as_model, plan_validation
from flows.core.types import Evaluation, StageUsage

SEARCH_SHARE = 0.55
"""Of the budget left when the search starts, what it gets. The budget is the wall time from
the model's start: the rest pays for the candidates, their refit on every row, and (TAIL_SHARE
of the budget) integration, evaluation, explanations and registration."""
MIN_SEARCH_SHARE = 0.35
TAIL_SHARE = 0.12


@dataclass(frozen=True)
class FitOptions:
    """How to fit: the run's choices, the same for the global model and every slice."""

    seed: int
    n_jobs: int
    metric: str | None = None
    prefer: Prefer = "balanced"
    refit: bool = True
    starting_points: dict[str, dict[str, Any]] | None = None
    learners: tuple[str, ...] | None = None
    """The learners the search may use (a slice's policy), or None for all; baselines of
    other kinds are then fitted for comparison but never chosen."""
    constraints: dict[str, dict[str, Any]] | None = None
    """Search-space overrides (search.constrained_space) a policy asks for."""


@dataclass
class Fitted:
    """What fitting one model produced."""

    model: FittedModel
    """The registered model: refitted on every training row unless ``--no-refit``."""
    evaluations: list[Evaluation]
    explained: dict[str, Any]
    found: SearchResult
    integration: dict[str, Any]
    validation: Validation
    metric: str
    evaluated: dict[str, FittedModel] = field(repr=False)
    """The model and the baselines as evaluated on the test part (before any refit)."""
    validation_output: Any = field(default=None, repr=False)
    """The chosen model's output on the validation rows, and their targets."""
    validation_y: Any = field(default=None, repr=False)


@contextmanager
def stage(name: str, usages: list[StageUsage], announce: bool = True) -> Iterator[None]:
    """Measure a stage (wall, CPU, peak memory) and, when announced, show its progress."""
    if announce:
        emit(ProgressEvent(stage=name, status="started"))
    with measure(name) as meter:
        yield
    assert meter.usage is not None
    usages.append(meter.usage)
    if announce:
        emit(ProgressEvent(stage=name, status="finished", elapsed_s=meter.usage.wall_s))


def fit_model(prepared: PreparedData, options: FitOptions, version: str, started: float,
              budget: float, usages: list[StageUsage], announce: bool = True) -> Fitted:
    """Every stage from the baselines to the refit, within ``budget`` seconds of
    ``started`` (a ``time.monotonic()`` reading)."""
    task_kind = prepared.task
    metric_name = search_metric(task_kind, options.metric)
    n_classes = len(prepared.split.classes)
    validation = plan_validation(prepared, options.seed)
    x, y, weights = prepared.x_train, prepared.split.y_train, prepared.sample_weight
    fit_rows = validation.fit_rows
    x_fit, y_fit = x[fit_rows], y[fit_rows]
    with stage("baseline", usages, announce):
        baselines = tasks.fit_baselines(x_fit, y_fit, task_kind, options.seed)
    with stage("search", usages, announce):
        found = tasks.run_search(x_fit, y_fit, task_kind, metric_name,
                                 _search_share(budget, time.monotonic() - started), options.seed,
                                 options.n_jobs, None if weights is None else weights[fit_rows],
                                 options.starting_points, options.learners,
                                 options.constraints)
    with stage("candidates", usages, announce):
        deadline = started + (1 - TAIL_SHARE) * budget
        recipes = affordable_recipes(found.recipes, deadline - time.monotonic(),
                                     validation.cross_fitted)
        members = [Member(r.learner, r.learner, recipe=r) for r in recipes] + [
            Member(role, learner, template=clone(estimator))
            for role, (learner, estimator) in baselines.items()
            if _allowed(learner, options.learners)]
        fitted = tasks.fit_candidates(
            members, x, y, weights, validation, task_kind, n_classes, options.n_jobs, deadline,
            {role: estimator for role, (_, estimator) in baselines.items()})
    with stage("integrate", usages, announce):
        integration = tasks.integrate(fitted, y[validation.valid_rows], task_kind, metric_name,
                                      options.prefer, options.seed)
    chosen = [fitted[i] for i in integration.members]
    learner = _learner_name(integration, chosen)
    estimator = integration.estimator([c.estimator for c in chosen], task_kind, n_classes)
    evaluated = {"model": as_model(prepared, estimator, learner, version)} | {
        role: as_model(prepared, base, base_learner, f"{version}-{role}")
        for role, (base_learner, base) in baselines.items()}
    with stage("evaluate", usages, announce):
        evaluations = tasks.evaluate(evaluated, prepared)
    with stage("explain", usages, announce):
        explained = tasks.explain(evaluated["model"], prepared, options.seed)
    winner = evaluated["model"]
    if options.refit:
        with stage("refit", usages, announce):
            winner = tasks.refit(prepared, [c.member for c in chosen], integration,
                                 options.n_jobs, version, learner)
    winner.reference_row = explained["reference_row"]
    return Fitted(model=winner, evaluations=evaluations, explained=explained, found=found,
                  integration=integration.as_dict(fitted), validation=validation,
                  metric=metric_name, evaluated=evaluated,
                  validation_output=integration.validation_output(fitted, task_kind, n_classes),
                  validation_y=y[validation.valid_rows])


BASELINE_KINDS = {"logistic_regression": ("lrl1", "lrl2"), "ridge": ("enet",),
                  "hist_gradient_boosting": ()}
"""The searched learners a baseline counts as, for a policy that restricts learners (the
boosted-tree baseline counts as none: it cannot be held to a leaf limit)."""


def _allowed(baseline_learner: str, learners: tuple[str, ...] | None) -> bool:
    return learners is None or bool(set(BASELINE_KINDS.get(baseline_learner, ())) & set(
        learners))


def _search_share(budget: float, elapsed: float) -> float:
    return max(MIN_SEARCH_SHARE * budget, SEARCH_SHARE * (budget - elapsed))


def _learner_name(integration: Integration, chosen: list[Candidate]) -> str:
    if integration.kind == "single":
        return chosen[0].member.learner
    return f"{integration.kind}({'+'.join(c.member.learner for c in chosen)})"
