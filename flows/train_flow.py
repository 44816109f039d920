"""The ``train`` flow: a file and a target in, a registered, servable model out.

Stages run as coarse Prefect tasks in this process; each is measured (wall, CPU, peak memory).
Everything a run writes to the catalog goes in one transaction at the end, and every file it
created before a failure (snapshot, model directory, BentoML model) is removed again, so a
failed run leaves the store exactly as it was.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.runtime import flow_run
from sklearn.base import clone

from flows import tasks
from flows.core import registry
from flows.core.candidates import Candidate, Member, affordable_recipes
from flows.core.card import model_card_markdown
from flows.core.config import Settings
from flows.core.ensemble import Integration, Prefer
from flows.core.evaluate import MAIN_METRIC
from flows.core.ingest import remove_snapshot
from flows.core.lineage import code_lineage
from flows.core.losses import search_metric
from flows.core.progress import ProgressEvent, emit
from flows.core.reports import data_report_path
from flows.core.resources import measure
from flows.core.store import GLOBAL_SLICE, Catalog
from flows.core.training import PreparedData, as_model, held_out_predictions, plan_validation
from flows.core.types import ModelRecord, RunRecord, StageUsage


@contextmanager
def _stage(name: str, usages: list[StageUsage]) -> Iterator[None]:
    emit(ProgressEvent(stage=name, status="started"))
    with measure(name) as meter:
        yield
    assert meter.usage is not None
    usages.append(meter.usage)
    emit(ProgressEvent(stage=name, status="finished", elapsed_s=meter.usage.wall_s))


@flow(name="train")
def train(source: str, target: str, budget_s: float | None = None, name: str | None = None,
          seed: int | None = None, query: str | None = None, metric: str | None = None,
          prefer: Prefer = "balanced", refit: bool = True) -> dict[str, Any]:
    """Ingest, profile, split, fit baselines, search, integrate, evaluate, explain, refit,
    register, report."""
    settings = Settings()
    budget = budget_s if budget_s is not None else settings.search.budget_s
    seed = settings.search.seed if seed is None else seed
    n_jobs = settings.search.n_jobs
    run_id = uuid.uuid4().hex[:12]
    started_at, clock = datetime.now(), time.monotonic()
    usages: list[StageUsage] = []
    with ExitStack() as undo:
        with _stage("ingest", usages):
            ingested = tasks.ingest_source(source, target, settings.datasets_dir, name, query)
        dataset = ingested.dataset
        if ingested.created:
            undo.callback(remove_snapshot, dataset)
        with _stage("profile", usages):
            profile = tasks.profile_dataset(settings.catalog_path, dataset, target, seed)
        with _stage("prepare", usages):
            prepared = tasks.prepare(dataset, target, settings.search.test_size, seed,
                                     settings.search.max_rows, settings.search.text_features,
                                     budget)
        task_kind = prepared.task
        metric_name = search_metric(task_kind, metric)
        n_classes = len(prepared.split.classes)
        validation = plan_validation(prepared, seed)
        x, y, weights = prepared.x_train, prepared.split.y_train, prepared.sample_weight
        fit_rows = validation.fit_rows
        x_fit, y_fit = x[fit_rows], y[fit_rows]
        with _stage("baseline", usages):
            baselines = tasks.fit_baselines(x_fit, y_fit, task_kind, seed)
        previous = _previous_recipes(settings, dataset.name, target)
        with _stage("search", usages):
            found = tasks.run_search(x_fit, y_fit, task_kind, metric_name,
                                     _search_share(budget, time.monotonic() - clock), seed,
                                     n_jobs, None if weights is None else weights[fit_rows],
                                     previous)
        with _stage("candidates", usages):
            deadline = clock + (1 - TAIL_SHARE) * budget
            recipes = affordable_recipes(found.recipes, deadline - time.monotonic(),
                                         validation.cross_fitted)
            members = [Member(r.learner, r.learner, recipe=r) for r in recipes] + [
                Member(role, learner, template=clone(estimator))
                for role, (learner, estimator) in baselines.items()]
            fitted = tasks.fit_candidates(
                members, x, y, weights, validation, task_kind, n_classes, n_jobs, deadline,
                {role: estimator for role, (_, estimator) in baselines.items()})
        with _stage("integrate", usages):
            integration = tasks.integrate(fitted, y[validation.valid_rows], task_kind,
                                          metric_name, prefer, seed)
        chosen = [fitted[i] for i in integration.members]
        learner = _learner_name(integration, chosen)
        version = registry.model_version(dataset.name, run_id)
        estimator = integration.estimator([c.estimator for c in chosen], task_kind, n_classes)
        models = {"model": as_model(prepared, estimator, learner, version)} | {
            role: as_model(prepared, base, base_learner, f"{version}-{role}")
            for role, (base_learner, base) in baselines.items()}
        with _stage("evaluate", usages):
            evaluations = tasks.evaluate(models, prepared)
        with _stage("explain", usages):
            explained = tasks.explain(models["model"], prepared, seed)
        winner = models["model"]
        if refit:
            with _stage("refit", usages):
                winner = tasks.refit(prepared, [c.member for c in chosen], integration,
                                     n_jobs, version, learner)
        winner.reference_row = explained["reference_row"]
        metrics = next(e.metrics for e in evaluations if e.role == "model")
        integration_facts = integration.as_dict(fitted)
        card = {"version": version, "run_id": run_id, "dataset": dataset.name,
                "dataset_hash": dataset.content_hash, "target": target, "task": task_kind.value,
                "learner": learner, "search_metric": metric_name, "prefer": prefer,
                "search_validation": found.eval_method,
                "candidate_validation": validation.describe(),
                "integration": integration_facts,
                "recipes": {r.learner: r.config for r in found.recipes},
                "warm_started_from": previous and list(previous),
                "refit_on_all_rows": refit, "seed": seed, "budget_s": budget,
                "test_size": settings.search.test_size,
                "text_features": prepared.plan.text_features if prepared.plan.texts else None,
                "metrics": {e.role: e.metrics for e in evaluations},
                "input_schema": winner.input_schema, "created_at": started_at.isoformat(),
                "rows": dataset.rows, "test_rows": len(prepared.split.y_test)} \
            | explained | _data_facts(prepared)
        markdown = model_card_markdown(card, explained["intervals"],
                                       explained["permutation_importance"],
                                       explained["learner_importance"])
        with _stage("register", usages):
            artifact_dir = tasks.save_artifact(winner, settings.models_dir, card, markdown,
                                               held_out_predictions(prepared, evaluations,
                                                                    seed=seed))
            undo.callback(registry.remove_artifact, artifact_dir)
        record = RunRecord(
            run_id=run_id, dataset=dataset, target=target, task=task_kind, budget_s=budget,
            seed=seed, started_at=started_at, finished_at=datetime.now(),
            main_metric=MAIN_METRIC[task_kind], exclusions=prepared.plan.exclusions,
            trials=found.trials, evaluations=tuple(evaluations), stages=tuple(usages),
            model=ModelRecord(
                version=version, run_id=run_id, dataset_hash=dataset.content_hash,
                target=target, task=task_kind, learner=learner,
                artifact_path=artifact_dir, created_at=datetime.now(), metrics=metrics,
                lineage=code_lineage() | {"seed": seed, "search_metric": metric_name,
                                          "integration": integration_facts["kind"],
                                          "recipes": card["recipes"]}),
            flow_run_id=flow_run.get_id(), profile=profile,
            profile_report=data_report_path(settings.reports_dir, dataset, target))
        tasks.record_run(settings.catalog_path, record)
        undo.pop_all()
    # The run is recorded: the release file follows the catalog (a service watches it).
    release_file = tasks.write_release(settings.catalog_path, dataset.name, settings.releases_dir)
    with _stage("report", usages):  # after the record: its time is shown, not stored
        report = tasks.write_reports(settings.catalog_path, record, settings.reports_dir)
    return _summary(record, release_file, prepared) | {
        "report": str(report), "data_report": str(record.profile_report),
        "data_alerts": profile["alerts"],
        "search_metric": metric_name, "search_validation": found.eval_method,
        "candidate_validation": validation.describe(),
        "integration": integration_facts, "refit_on_all_rows": refit,
        "search_winner": found.best.learner}


SEARCH_SHARE = 0.55
"""Of the budget left when the search starts, what it gets. The budget is the run's wall time
from the start of the flow: the rest pays for the candidates, their refit on every row, and
(TAIL_SHARE of the budget) integration, evaluation, explanations and registration."""
MIN_SEARCH_SHARE = 0.35
TAIL_SHARE = 0.12


def _search_share(budget: float, elapsed: float) -> float:
    return max(MIN_SEARCH_SHARE * budget, SEARCH_SHARE * (budget - elapsed))


def _previous_recipes(settings: Settings, dataset_name: str,
                      target: str) -> dict[str, dict[str, Any]] | None:
    """The configurations of the dataset's champion, to warm-start from (when it predicts the
    same target)."""
    catalog = Catalog(settings.catalog_path)
    version = catalog.aliases(dataset_name).get((GLOBAL_SLICE, "champion"))
    champion = catalog.model(version) if version else None
    if champion is None or champion.target != target:
        return None
    return registry.read_card(champion.artifact_path).get("recipes") or None


def _learner_name(integration: Integration, chosen: list[Candidate]) -> str:
    if integration.kind == "single":
        return chosen[0].member.learner
    return f"{integration.kind}({'+'.join(c.member.learner for c in chosen)})"


def _summary(record: RunRecord, release_file: Path, prepared: PreparedData) -> dict[str, Any]:
    """The JSON-ready result of a run: what ``autopipe run --json`` prints."""
    by_role = {e.role: e for e in record.evaluations}
    return {
        "run_id": record.run_id,
        "dataset": record.dataset.name,
        "dataset_hash": record.dataset.content_hash,
        "rows": record.dataset.rows,
        "duplicates_dropped": record.dataset.report.get("duplicates_dropped", 0),
        "target": record.target,
        "task": record.task.value,
        "main_metric": record.main_metric,
        "model_version": record.model.version,
        "release": str(release_file),
        "learner": record.model.learner,
        "metrics": by_role["model"].metrics,
        "baselines": {role: {"learner": e.learner, "metrics": e.metrics}
                      for role, e in by_role.items() if role != "model"},
        "trials": len(record.trials),
        "stages": [{"stage": s.stage, "wall_s": s.wall_s, "cpu_s": s.cpu_s,
                    "peak_rss_mb": s.peak_rss_mb} for s in record.stages],
        "duration_s": (record.finished_at - record.started_at).total_seconds(),
    } | _data_facts(prepared)


def _data_facts(prepared: PreparedData) -> dict[str, Any]:
    """What the run did to the data before training: for the model card and the summary."""
    split = prepared.split
    return {
        "dropped_missing_target": split.dropped_missing_target,
        "dropped_single_row_classes": list(split.dropped_single_row_classes),
        "training_rows": len(split.x_train),
        "training_rows_before_cap": split.train_rows_before_cap,
        "class_balance": prepared.balance.as_dict() if prepared.balance else None,
        "excluded_columns": [asdict(e) for e in prepared.plan.exclusions],
    }
