"""The ``train`` flow: a file and a target in, a registered, servable model out.

Stages run as coarse Prefect tasks in this process; each is measured (wall, CPU, peak memory).
Everything a run writes to the catalog goes in one transaction at the end, and every file it
created before a failure (snapshot, model directory, BentoML model) is removed again, so a
failed run leaves the store exactly as it was.
"""

from __future__ import annotations

import time
import uuid
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from flows import tasks
from flows.core.config import Settings
from flows.core.data.ingest import remove_snapshot, snapshot_files
from flows.core.data.slices import MIN_SLICE_ROWS, SlicePlan, plan_slices
from flows.core.evaluation.held_out import held_out_predictions, reference_rows
from flows.core.evaluation.metrics import MAIN_METRIC
from flows.core.live_runs import LiveRun
from flows.core.pipeline.budget import Clock
from flows.core.pipeline.fit import FitOptions
from flows.core.pipeline.slice import SliceOutcome
from flows.core.policy.rules import load_policy
from flows.core.preparation.prepared import PreparedData
from flows.core.records.card import CARD_SCHEMA_VERSION, ModelCard
from flows.core.records.run import (
    BaselineFacts,
    DataFacts,
    RunSummary,
    SliceSummary,
    StageFacts,
)
from flows.core.registry import artifacts as registry
from flows.core.registry.card import model_card_markdown
from flows.core.registry.lineage import code_lineage
from flows.core.reports.files import data_report_path, summary_path
from flows.core.resources import stage
from flows.core.store.catalog import GLOBAL_SLICE, Catalog
from flows.core.training.ensemble import Prefer
from flows.core.training.learners import Config
from flows.core.types import ModelRecord, RunRecord, SliceRecord, StageUsage
from flows.server.slice_dispatch import train_slices


@flow(name="train")
def train(source: str, target: str, budget_s: float | None = None, name: str | None = None,
          seed: int | None = None, query: str | None = None, metric: str | None = None,
          prefer: Prefer = "balanced", max_models: int | None = None,
          slice_by: list[str] | None = None, min_slice_rows: int = MIN_SLICE_ROWS,
          policies: list[str] | None = None, workers: int = 1, dask: str | None = None,
          slice_deployment: str | None = None,
          started_at: float | None = None) -> RunSummary:
    """Ingest, profile, split, fit baselines, the portfolio and the tuner, integrate,
    evaluate, explain, [one model per slice,] register, report, within ``budget_s`` seconds
    of ``started_at`` (epoch seconds: when the command that asked for the run started; default
    now), or fitting exactly ``max_models`` configurations whatever the clock says. Slices
    share a second budget of the same size, in proportion to their rows, ``workers`` side by
    side (in local processes, or on Dask: ``dask`` is 'local' or a scheduler address, or as
    runs of ``slice_deployment`` on the server's workers); each is held to the first of
    ``policies`` (YAML files) that governs it."""
    settings = Settings()
    run_id = uuid.uuid4().hex[:12]
    with LiveRun(settings.live_dir, run_id, source=source, target=target, name=name,
                 budget_s=budget_s, flow_run_id=flow_run.get_id()) as live:
        return _train(settings, live, run_id, source, target, budget_s, name, seed, query,
                      metric, prefer, max_models, slice_by, min_slice_rows, policies,
                      SliceDispatch(workers, dask, slice_deployment), started_at)


def _train(settings: Settings, live: LiveRun, run_id: str, source: str, target: str,
           budget_s: float | None, name: str | None, seed: int | None, query: str | None,
           metric: str | None, prefer: Prefer, max_models: int | None,
           slice_by: list[str] | None, min_slice_rows: int, policies: list[str] | None,
           dispatch: SliceDispatch, started: float | None) -> RunSummary:
    rules = [load_policy(Path(path)) for path in policies or []]
    budget = budget_s if budget_s is not None else settings.search.budget_s
    seed = settings.search.seed if seed is None else seed
    n_jobs = settings.search.n_jobs
    started_at = datetime.now()
    clock = Clock(time.monotonic() - max(0.0, time.time() - (started or time.time())), budget,
                  max_models)
    usages: list[StageUsage] = []
    with ExitStack() as undo:
        with stage("ingest", usages):
            ingested = tasks.ingest_source(source, target, settings.datasets_dir, name, query)
        dataset = ingested.dataset
        if ingested.created:
            undo.callback(remove_snapshot, dataset)
            for path in snapshot_files(dataset):
                live.created(path)
        with stage("profile", usages):
            profile = tasks.profile_dataset(settings.catalog_path, dataset, target, seed)
        with stage("prepare", usages):
            prepared = tasks.prepare(dataset, target, settings.search.test_size, seed,
                                     settings.search.max_rows, settings.search.text_features,
                                     budget, metric)
        task_kind = prepared.task
        version = registry.model_version(dataset.name, run_id)
        options = FitOptions(seed=seed, n_jobs=n_jobs, metric=metric, prefer=prefer,
                             max_models=max_models,
                             first=_champion_configurations(settings, dataset.name, target))
        fitted = tasks.fit_model(prepared, options, version, clock)
        usages += fitted.stages
        winner, evaluations = fitted.model, fitted.evaluations
        metric_name, training = fitted.metric, fitted.training_facts()
        card = ModelCard(
            schema_version=CARD_SCHEMA_VERSION, version=version, run_id=run_id,
            dataset=dataset.name, dataset_hash=dataset.content_hash, target=target,
            task=task_kind.value, learner=winner.learner, search_metric=metric_name,
            prefer=prefer, validation=fitted.folds.describe(), training=training,
            integration=fitted.integration, configurations=fitted.configurations,
            warm_started_from=[c.name for c in options.first] or None,
            max_models=max_models, seed=seed, budget_s=budget,
            test_size=settings.search.test_size,
            text_features=prepared.plan.text_features if prepared.plan.texts else None,
            metrics={e.role: e.metrics for e in evaluations},
            input_schema=winner.input_schema, created_at=started_at.isoformat(),
            rows=dataset.rows, test_rows=len(prepared.split.y_test),
            **fitted.explained.model_dump(), **_data_facts(prepared).model_dump())
        markdown = model_card_markdown(card)
        plan = plan_slices(prepared.split, slice_by, min_slice_rows) if slice_by else None
        if plan and dispatch.deployment:
            live.created(settings.work_dir / run_id)
        outcomes = train_slices(prepared, plan, replace(options, first=()), version, budget,
                                fitted.evaluated["model"], settings.search.text_features,
                                rules, dispatch.workers, dispatch.dask, dispatch.deployment,
                                settings.work_dir / run_id) if plan else []
        usages += [outcome.usages[-1] for outcome in outcomes]  # each slice as one stage
        with stage("register", usages):
            live.created(settings.models_dir / version)
            artifact_dir = tasks.save_artifact(
                winner, settings.models_dir, card, markdown,
                held_out_predictions(prepared, evaluations, seed=seed),
                reference_rows(prepared, registry.REFERENCE_ROWS, seed))
            undo.callback(registry.remove_artifact, artifact_dir)
            slices = _register_slices(settings, live, plan, outcomes, card, undo) \
                if plan else ()
        record = RunRecord(
            run_id=run_id, dataset=dataset, target=target, task=task_kind, budget_s=budget,
            seed=seed, started_at=started_at, finished_at=datetime.now(),
            main_metric=MAIN_METRIC[task_kind], exclusions=prepared.plan.exclusions,
            trials=fitted.trials, evaluations=tuple(evaluations), stages=tuple(usages),
            model=ModelRecord(
                version=version, run_id=run_id, dataset_hash=dataset.content_hash,
                target=target, task=task_kind, learner=winner.learner,
                artifact_path=artifact_dir, created_at=datetime.now(),
                metrics=next(e.metrics for e in evaluations if e.role == "model"),
                lineage=code_lineage() | {"seed": seed, "search_metric": metric_name,
                                          "integration": fitted.integration.kind,
                                          "max_models": max_models,
                                          "configurations": {
                                              name: c.model_dump()
                                              for name, c in card.configurations.items()}}),
            flow_run_id=flow_run.get_id(), profile=profile,
            profile_report=data_report_path(settings.reports_dir, dataset, target),
            slices=slices)
        tasks.record_run(settings.catalog_path, record)
        undo.pop_all()
    # The run is recorded: the release file follows the catalog (a service watches it).
    release_file = tasks.write_release(settings.catalog_path, dataset.name, settings.releases_dir)
    with stage("report", usages):  # after the record: its time is shown, not stored
        report = tasks.write_reports(settings.catalog_path, record, settings.reports_dir)
    summary = RunSummary(
        **_data_facts(prepared).model_dump(), **_run_facts(record, release_file),
        report=str(report), data_report=str(record.profile_report),
        data_alerts=profile["alerts"], search_metric=metric_name,
        validation=fitted.folds.describe(), training=training,
        integration=fitted.integration, max_models=max_models, budget_s=budget,
        slices=[_slice_summary(s) for s in slices])
    # A run on a worker is followed from elsewhere (autopipe run --remote): it reads this.
    summary.write(summary_path(settings.reports_dir, run_id))
    return summary


@dataclass(frozen=True)
class SliceDispatch:
    """Where slices train: ``workers`` local processes, Dask, or a deployment's workers."""

    workers: int = 1
    dask: str | None = None
    deployment: str | None = None


def _champion_configurations(settings: Settings, dataset_name: str,
                             target: str) -> tuple[Config, ...]:
    """The configurations of the dataset's champion's ensemble, fitted first on retraining
    (when it predicts the same target)."""
    catalog = Catalog(settings.catalog_path)
    version = catalog.aliases(dataset_name).get((GLOBAL_SLICE, "champion"))
    champion = catalog.model(version) if version else None
    if champion is None or champion.target != target:
        return ()
    card = registry.read_card(champion.artifact_path)
    members = card.integration.members if card.integration else []
    return tuple(Config(f"champion_{name}", c.learner, c.params,
                        f"the champion's ({champion.version})", 1.0, c.flaml_params)
                 for name, c in card.configurations.items() if name in members)


def _register_slices(settings: Settings, live: LiveRun, plan: SlicePlan,
                     outcomes: list[SliceOutcome], card: ModelCard,
                     undo: ExitStack) -> tuple[SliceRecord, ...]:
    """Save each slice model's artifact; the records the catalog gets for every slice."""
    records = []
    card_version, run_id = str(card.version), str(card.run_id)
    dataset_hash, target = str(card.dataset_hash), str(card.target)
    for outcome in outcomes:
        model, fitted = outcome.fitted.model, outcome.fitted
        slice_card = card.model_copy(update={
            "version": model.version, "slice": outcome.name, "learner": model.learner,
            "slice_comparison": outcome.comparison, "champion_for_slice": outcome.champion,
            "policy": model.policy, "policy_breaches": outcome.breaches,
            "excluded_by_policy": outcome.excluded,
            "metrics": {e.role: e.metrics for e in fitted.evaluations},
            "configurations": fitted.configurations, "training": fitted.training_facts(),
            "integration": fitted.integration, "validation": fitted.folds.describe(),
            "input_schema": model.input_schema} | dict(fitted.explained))
        live.created(settings.models_dir / model.version)
        directory = registry.save_artifact(
            model, settings.models_dir, slice_card, model_card_markdown(slice_card),
            reference=outcome.reference)
        undo.callback(registry.remove_artifact, directory)
        records.append(SliceRecord(
            outcome.name, model.version if outcome.champion == "slice" else card_version,
            outcome.comparison,
            ModelRecord(version=model.version, run_id=run_id,
                        dataset_hash=dataset_hash, target=target,
                        task=model.task, learner=model.learner, artifact_path=directory,
                        created_at=datetime.now(), metrics=outcome.comparison["slice"],
                        lineage=code_lineage() | {"seed": card.seed, "slice": outcome.name},
                        slice=outcome.name),
            policy=outcome.policy, breaches=tuple(outcome.breaches)))
    records += [SliceRecord(name, card_version, reason=reason)
                for name, reason in plan.small.items()]
    return tuple(sorted(records, key=lambda r: r.name))


def _slice_summary(record: SliceRecord) -> SliceSummary:
    return SliceSummary(slice=record.name, model_version=record.model and record.model.version,
                        champion_version=record.champion_version, reason=record.reason,
                        metrics=record.metrics, policy=record.policy,
                        breaches=list(record.breaches))


def _run_facts(record: RunRecord, release_file: Path) -> dict[str, Any]:
    """The summary's facts of the recorded run."""
    by_role = {e.role: e for e in record.evaluations}
    return {
        "run_id": record.run_id,
        "flow_run_id": record.flow_run_id,
        "dataset": record.dataset.name,
        "dataset_hash": record.dataset.content_hash,
        "rows": record.dataset.rows,
        "duplicates_dropped": record.dataset.report.get("duplicates_dropped", 0),
        "duplicates_kept": record.dataset.report.get("duplicates_kept", 0),
        "target": record.target,
        "task": record.task.value,
        "main_metric": record.main_metric,
        "model_version": record.model.version,
        "release": str(release_file),
        "learner": record.model.learner,
        "metrics": by_role["model"].metrics,
        "baselines": {role: BaselineFacts(learner=e.learner, metrics=e.metrics)
                      for role, e in by_role.items() if role != "model"},
        "trials": len(record.trials),
        "stages": [StageFacts(stage=s.stage, wall_s=s.wall_s, cpu_s=s.cpu_s,
                              peak_rss_mb=s.peak_rss_mb) for s in record.stages],
        "duration_s": (record.finished_at - record.started_at).total_seconds(),
    }


def _data_facts(prepared: PreparedData) -> DataFacts:
    """What the run did to the data before training: for the model card and the summary."""
    split = prepared.split
    return DataFacts(
        dropped_missing_target=split.dropped_missing_target,
        dropped_single_row_classes=[str(c) for c in split.dropped_single_row_classes],
        training_rows=len(split.x_train),
        training_rows_before_cap=split.train_rows_before_cap,
        class_balance=prepared.balance.as_dict() if prepared.balance else None,
        excluded_columns=[asdict(e) for e in prepared.plan.exclusions])
