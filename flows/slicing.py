"""One model per slice, each a Prefect task run side by side by the flow's task runner, or a
run of the ``train-slice`` deployment that any worker may take (flows/slice_jobs.py).

A slice task prepares the slice's rows of the run's split (its own feature plan and
preprocessing), fits a model through the same stages as the global one within its share of
the budget, and compares it with the global model on the slice's held-out rows. Tasks only
return results: the flow registers them, so the catalog keeps one writer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ProcessPoolTaskRunner
from threadpoolctl import threadpool_limits

from flows.core.embeddings import TextFeatures
from flows.core.errors import AutopipeError
from flows.core.evaluate import MAIN_METRIC
from flows.core.model import FittedModel
from flows.core.pipeline.budget import Clock
from flows.core.pipeline.fit import FitOptions, Fitted, fit_model
from flows.core.policy import Policy, policy_for
from flows.core.policy_checks import Breach, check_policy, choose_threshold
from flows.core.policy_training import allowed_learners, excluded_columns, search_constraints
from flows.core.progress import ProgressEvent, emit
from flows.core.registry import REFERENCE_ROWS, model_version_slug
from flows.core.resources import stage
from flows.core.slices import SlicePlan, SliceSpec, champion_of, compare_on_slice, slice_split
from flows.core.training.evaluation import reference_rows
from flows.core.training.prepared import PreparedData, prepare_split
from flows.core.types import StageUsage, Task
from flows.slice_jobs import SliceDeploymentRunner

MIN_SLICE_BUDGET_S = 4.0
"""A slice's share of the budget is never less: with 0.7 s (a small slice of a 3 s budget)
its search got 0.35 s and finished no model (seen in CI)."""


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


@task(name="slice", cache_policy=NO_CACHE)
def train_slice(prepared: PreparedData, spec: SliceSpec, options: FitOptions, version: str,
                budget: float, global_model: FittedModel, text_features: TextFeatures,
                policy: Policy | None = None) -> SliceOutcome:
    started, usages = time.monotonic(), list[StageUsage]()
    with threadpool_limits(limits=options.n_jobs), \
            stage(f"slice {spec.name}", usages, announce=False):
        with stage("prepare", usages, announce=False):
            split = slice_split(prepared.split, spec)
            excluded = excluded_columns(policy, split.x_train) if policy else []
            sliced = prepare_split(split, options.seed, text_features, budget, excluded)
        slice_options = options
        if policy is not None:
            slice_options = replace(
                slice_options, learners=allowed_learners(policy, sliced.task),
                constraints=search_constraints(policy, sliced.preprocessor),
                prefer="fast" if policy.learners or policy.monotone else options.prefer)
        fitted = fit_model(sliced, slice_options, version,
                           Clock(started, budget, options.max_models), announce=False)
        usages += fitted.stages
        breaches = _apply_policy(policy, fitted, sliced) if policy else []
        comparison = compare_on_slice(prepared.split, spec, fitted.evaluated["model"],
                                      global_model)
    champion = "global" if breaches else champion_of(comparison, MAIN_METRIC[prepared.task])
    return SliceOutcome(spec.name, fitted, comparison, champion, usages,
                        policy.name if policy else None, [b.as_dict() for b in breaches],
                        [e.column for e in excluded],
                        reference_rows(sliced, REFERENCE_ROWS, options.seed))


def _apply_policy(policy: Policy, fitted: Fitted, sliced: PreparedData) -> list[Breach]:
    """Set the policy's decision threshold (chosen on validation rows) on the evaluated and
    the registered model, record the policy in both, and check it on the test rows."""
    threshold = None
    if sliced.task is Task.BINARY:
        threshold = choose_threshold(fitted.validation_y, fitted.validation_output[:, 1],
                                     policy.min_recall, policy.max_false_positive_rate)
    for model in (fitted.evaluated["model"], fitted.model):
        model.threshold, model.policy = threshold, policy.as_dict()
    return check_policy(policy, fitted.evaluated["model"], sliced.split.x_test,
                        sliced.split.y_test)


def train_slices(prepared: PreparedData, plan: SlicePlan, options: FitOptions, version: str,
                 budget: float, global_model: FittedModel, text_features: TextFeatures,
                 policies: list[Policy] | None = None, workers: int = 1,
                 dask: str | None = None, deployment: str | None = None,
                 work_dir: Path | None = None) -> list[SliceOutcome]:
    """Every slice with enough rows, ``workers`` at a time in a pool of processes (FLAML's
    tuner is process-global: threads cannot run two searches); each gets ``budget`` seconds
    in proportion to its rows, and the machine's cores shared among the workers (two
    processes each running LightGBM on every core made every slice 4x slower, measured).
    ``dask`` sends them to a Dask cluster instead: 'local' for a local one of ``workers``
    processes, or a scheduler address. ``deployment`` submits each slice as a run of that
    deployment (its job files in ``work_dir``, on the shared home) and the workers decide how
    many run at once."""
    rows = sum(spec.rows for spec in plan.trained) or 1
    workers = max(1, min(workers, len(plan.trained)))
    cores = max(1, (os.cpu_count() or 1) // workers)
    shared = replace(options, n_jobs=cores if options.n_jobs < 0 else min(options.n_jobs, cores))
    outcomes = []
    with slice_runner(workers, dask, deployment, work_dir) as runner:
        submit: Callable[[dict[str, Any]], Any] = runner.submit \
            if isinstance(runner, SliceDeploymentRunner) else partial(runner.submit, train_slice)
        futures = {}
        for spec in sorted(plan.trained, key=lambda s: -s.rows):  # the longest start first
            emit(ProgressEvent(stage=f"slice {spec.name}", status="started"))
            futures[spec.name] = submit({
                "prepared": prepared, "spec": spec, "options": shared,
                "version": slice_version(version, spec.name),
                "budget": max(MIN_SLICE_BUDGET_S, budget * spec.rows / rows),
                "global_model": global_model,
                "text_features": text_features,
                "policy": policy_for(spec.values, policies or [])})
        for spec in plan.trained:
            outcome = futures[spec.name].result()
            emit(ProgressEvent(stage=f"slice {spec.name}", status="finished",
                               elapsed_s=outcome.usages[-1].wall_s))
            outcomes.append(outcome)
    return outcomes


def slice_runner(workers: int, dask: str | None, deployment: str | None = None,
                 work_dir: Path | None = None) -> Any:
    """A process pool here, a Dask cluster (one thread per worker process: a process runs
    one FLAML search at a time), or a deployment's workers."""
    if deployment is not None:
        if dask is not None:
            raise AutopipeError("slices go to Dask or to a deployment, not both",
                                "leave out --dask when the run goes to the server's workers")
        if work_dir is None:
            raise ValueError("a deployment's slices need a work directory in the shared home")
        return SliceDeploymentRunner(deployment, work_dir)
    if dask is None:
        return ProcessPoolTaskRunner(max_workers=workers)
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise AutopipeError("training slices on Dask needs the prefect-dask package",
                            "pip install 'autopipe[dask]', or leave out --dask") from None
    if dask == "local":
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1,
                                              "processes": True})
    return DaskTaskRunner(address=dask)


def slice_version(version: str, name: str) -> str:
    return f"{version}-{model_version_slug(name)}"
