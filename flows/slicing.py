"""One model per slice, each a Prefect task, run side by side by the flow's task runner.

A slice task prepares the slice's rows of the run's split (its own feature plan and
preprocessing), fits a model through the same stages as the global one within its share of
the budget, and compares it with the global model on the slice's held-out rows. Tasks only
return results: the flow registers them, so the catalog keeps one writer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.core.embeddings import TextFeatures
from flows.core.evaluate import MAIN_METRIC
from flows.core.model import FittedModel
from flows.core.progress import ProgressEvent, emit
from flows.core.registry import model_version_slug
from flows.core.slices import SlicePlan, SliceSpec, champion_of, compare_on_slice, slice_split
from flows.core.training import PreparedData, prepare_split
from flows.core.types import StageUsage
from flows.fitting import FitOptions, Fitted, fit_model, stage


@dataclass
class SliceOutcome:
    """A slice's model, its comparison with the global model, and which one serves it."""

    name: str
    fitted: Fitted
    comparison: dict[str, dict[str, float]]
    champion: str
    """'slice' or 'global'."""
    usages: list[StageUsage] = field(default_factory=list)


@task(name="slice", cache_policy=NO_CACHE)
def train_slice(prepared: PreparedData, spec: SliceSpec, options: FitOptions, version: str,
                budget: float, global_model: FittedModel,
                text_features: TextFeatures) -> SliceOutcome:
    started, usages = time.monotonic(), list[StageUsage]()
    with stage(f"slice {spec.name}", usages, announce=False):
        with stage("prepare", usages, announce=False):
            sliced = prepare_split(slice_split(prepared.split, spec), options.seed,
                                   text_features, budget)
        fitted = fit_model(sliced, replace(options, starting_points=None), version, started,
                           budget, usages, announce=False)
        comparison = compare_on_slice(prepared.split, spec, fitted.evaluated["model"],
                                      global_model)
    metric = MAIN_METRIC[prepared.task]
    return SliceOutcome(spec.name, fitted, comparison, champion_of(comparison, metric), usages)


def train_slices(prepared: PreparedData, plan: SlicePlan, options: FitOptions, version: str,
                 budget: float, global_model: FittedModel,
                 text_features: TextFeatures) -> list[SliceOutcome]:
    """Every slice with enough rows, submitted at once (the flow's task runner decides how
    many run side by side: FLAML's tuner is process-global, so slices need processes, not
    threads); each gets ``budget`` seconds in proportion to its rows."""
    rows = sum(spec.rows for spec in plan.trained) or 1
    futures = []
    for spec in plan.trained:
        emit(ProgressEvent(stage=f"slice {spec.name}", status="started"))
        futures.append(train_slice.submit(
            prepared, spec, options, slice_version(version, spec.name),
            max(1.0, budget * spec.rows / rows), global_model, text_features))
    outcomes = []
    for spec, future in zip(plan.trained, futures, strict=True):
        outcome = future.result()
        emit(ProgressEvent(stage=f"slice {spec.name}", status="finished",
                           elapsed_s=outcome.usages[-1].wall_s))
        outcomes.append(outcome)
    return outcomes


def slice_version(version: str, name: str) -> str:
    return f"{version}-{model_version_slug(name)}"
