"""Fitting one slice's model, without Prefect: the slice's rows of the run's split, its
policy's columns, learners and limits, the same fitting path as the global model, the
policy's threshold and checks, and the comparison with the global model on the slice's
held-out rows that decides which model serves it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from flows.core.data.slices import SliceSpec, champion_of, compare_on_slice, slice_split
from flows.core.evaluation.held_out import reference_rows
from flows.core.evaluation.metrics import MAIN_METRIC
from flows.core.pipeline.budget import Clock
from flows.core.pipeline.fit import FitOptions, Fitted, fit_model
from flows.core.policy.checks import Breach, check_policy, choose_threshold
from flows.core.policy.rules import Policy
from flows.core.policy.training import allowed_learners, excluded_columns, search_constraints
from flows.core.preparation.embeddings import TextFeatures
from flows.core.preparation.prepared import PreparedData, prepare_split
from flows.core.registry.artifacts import REFERENCE_ROWS
from flows.core.registry.model import FittedModel
from flows.core.resources import stage
from flows.core.types import StageUsage, Task


@dataclass
class SliceOutcome:
    """A slice's model, its comparison with the global model, and which one serves it."""

    name: str
    fitted: Fitted
    comparison: dict[str, dict[str, float]]
    champion: str
    """'slice' or 'global'."""
    usages: list[StageUsage] = field(default_factory=list)
    policy: str | None = None
    breaches: list[dict[str, Any]] = field(default_factory=list)
    """The policy rules the slice model broke on its held-out rows: it then does not serve."""
    excluded: list[str] = field(default_factory=list)
    reference: pd.DataFrame | None = field(default=None, repr=False)
    """A sample of the slice's training rows, for drift monitoring."""


def fit_slice(prepared: PreparedData, spec: SliceSpec, options: FitOptions, version: str,
              budget: float, global_model: FittedModel, text_features: TextFeatures,
              policy: Policy | None = None) -> SliceOutcome:
    """The slice's own model within ``budget`` seconds (or the run's model count), held to
    ``policy``, and whether it or the global model serves the slice."""
    started, usages = time.monotonic(), list[StageUsage]()
    with threadpool_limits(limits=options.n_jobs), \
            stage(f"slice {spec.name}", usages, announce=False):
        with stage("prepare", usages, announce=False):
            split = slice_split(prepared.split, spec)
            excluded = excluded_columns(policy, split.x_train) if policy else []
            sliced = prepare_split(split, options.seed, text_features, budget, excluded,
                                   options.metric)
        slice_options = options
        if policy is not None:
            slice_options = replace(
                slice_options, learners=allowed_learners(policy, sliced.task),
                constraints=search_constraints(policy, sliced.preprocessor),
                prefer="fast" if policy.learners or policy.monotone else options.prefer)
        fitted = fit_model(sliced, slice_options, version,
                           Clock(started, budget, options.max_models), announce=False)
        usages += fitted.stages
        breaches: list[Breach] = []
        if policy:
            fitted, breaches = _apply_policy(policy, fitted, sliced)
        comparison = compare_on_slice(prepared.split, spec, fitted.model, global_model)
    champion = "global" if breaches else champion_of(comparison, MAIN_METRIC[prepared.task])
    return SliceOutcome(spec.name, fitted, comparison, champion, usages,
                        policy.name if policy else None, [b.as_dict() for b in breaches],
                        [e.column for e in excluded],
                        reference_rows(sliced, REFERENCE_ROWS, options.seed))


def _apply_policy(policy: Policy, fitted: Fitted,
                  sliced: PreparedData) -> tuple[Fitted, list[Breach]]:
    """The model made again with the policy's decision threshold (chosen on the out-of-fold
    predictions) and the policy recorded in it, and its breaches on the slice's test rows."""
    threshold = None
    if sliced.task is Task.BINARY:
        threshold = choose_threshold(fitted.validation_y, fitted.validation_output[:, 1],
                                     policy.min_recall, policy.max_false_positive_rate)
    model = replace(fitted.model, threshold=threshold, policy=policy.as_dict())
    fitted = replace(fitted, model=model, evaluated=fitted.evaluated | {"model": model})
    return fitted, check_policy(policy, model, sliced.split.x_test, sliced.split.y_test)
