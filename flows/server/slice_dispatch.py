"""One model per slice, each a Prefect task run side by side by the flow's task runner, or a
run of the ``train-slice`` deployment that any worker may take (flows/server/slice_jobs.py).

A slice task wraps flows/core/pipeline/slice.py (the slice's own preparation, the same
fitting path as the global model within its share of the budget, its policy, the comparison
with the global model on the slice's held-out rows). Tasks only return results: the flow
registers them, so the catalog keeps one writer.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ProcessPoolTaskRunner

from flows.core.data.slices import SlicePlan, SliceSpec
from flows.core.errors import AutopipeError
from flows.core.pipeline.fit import FitOptions
from flows.core.pipeline.slice import SliceOutcome, fit_slice
from flows.core.policy.rules import Policy, policy_for
from flows.core.preparation.embeddings import TextFeatures
from flows.core.preparation.prepared import PreparedData
from flows.core.progress import ProgressEvent, emit
from flows.core.registry.artifacts import model_version_slug
from flows.core.registry.model import FittedModel
from flows.server.slice_jobs import SliceDeploymentRunner

MIN_SLICE_BUDGET_S = 4.0
"""A slice's share of the budget is never less: with 0.7 s (a small slice of a 3 s budget)
its search got 0.35 s and finished no model (seen in CI)."""


@task(name="slice", cache_policy=NO_CACHE)
def train_slice(prepared: PreparedData, spec: SliceSpec, options: FitOptions, version: str,
                budget: float, global_model: FittedModel, text_features: TextFeatures,
                policy: Policy | None = None) -> SliceOutcome:
    return fit_slice(prepared, spec, options, version, budget, global_model, text_features,
                     policy)


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
