"""Prefect tasks: one-line wrappers over the core stages.

Tasks are coarse (one per stage, never per trial or row): the Prefect server does real work for
every task run. Caching is off because inputs are whole frames; hashing them would cost more
than the stages they skip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State

from flows.core.data import ingest, profile
from flows.core.errors import AutopipeError
from flows.core.pipeline import fit
from flows.core.pipeline.budget import Clock
from flows.core.preparation import prepared
from flows.core.preparation.embeddings import TextFeatures
from flows.core.records.card import ModelCard
from flows.core.registry import artifacts as registry
from flows.core.registry import release
from flows.core.registry.model import FittedModel
from flows.core.reports import files as reports
from flows.core.store.catalog import Catalog
from flows.core.types import DatasetRef, RunRecord


def unless_user_error(_task: Any, _task_run: Any, state: State[Any]) -> bool:
    """Retry I/O hiccups, never a user's mistake: the same input fails the same way."""
    return not isinstance(state.result(raise_on_failure=False), AutopipeError)


@task(name="ingest", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2,
      retry_condition_fn=unless_user_error)
def ingest_source(source: str, target: str, datasets_dir: Path, name: str | None,
                  query: str | None) -> ingest.IngestResult:
    return ingest.ingest(ingest.check_source(source, target, query), datasets_dir, name)


@task(name="profile", cache_policy=NO_CACHE)
def profile_dataset(catalog_path: Path, dataset: DatasetRef, target: str | None,
                    seed: int) -> dict[str, Any]:
    """The dataset version's analysis: the stored one when this version and target were
    analysed before, else a new one."""
    stored = Catalog(catalog_path).profile(dataset.content_hash, target or "")
    if stored is not None:
        stored.pop("report_path", None)
        return stored
    return profile.profile_snapshot(Path(dataset.snapshot_path), target, seed,
                                    int(dataset.report.get("duplicates_dropped", 0)),
                                    dataset.spellings(target) if target else None,
                                    int(dataset.report.get("duplicates_kept", 0)))


@task(name="report", cache_policy=NO_CACHE)
def write_reports(catalog_path: Path, record: RunRecord, reports_dir: Path) -> Path:
    """The run's report, and the data report when the run made a new analysis."""
    if record.profile is not None and record.profile_report is not None \
            and not record.profile_report.exists():
        reports.write_data_report(record.profile, record.dataset, record.profile_report)
    return reports.write_run_report(Catalog(catalog_path), record.run_id, reports_dir)


@task(name="prepare", cache_policy=NO_CACHE)
def prepare(dataset: DatasetRef, target: str, test_size: float, seed: int, max_rows: int,
            text_features: TextFeatures, budget_s: float,
            metric: str | None) -> prepared.PreparedData:
    return prepared.prepare_training(ingest.read_snapshot(dataset, target), target, test_size,
                                     seed, max_rows, text_features, budget_s, metric)


@task(name="fit", cache_policy=NO_CACHE)
def fit_model(data: prepared.PreparedData, options: fit.FitOptions, version: str,
              clock: Clock) -> fit.Fitted:
    """Baselines, portfolio, tuner, integration, evaluation and explanations: one task; the
    model's stages are measured in ``Fitted.stages``."""
    return fit.fit_model(data, options, version, clock)


@task(name="register", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1,
      retry_condition_fn=unless_user_error)
def save_artifact(model: FittedModel, models_dir: Path, card: ModelCard,
                  card_markdown: str, held_out: pl.DataFrame | None = None,
                  reference: pd.DataFrame | None = None) -> Path:
    return registry.save_artifact(model, models_dir, card, card_markdown, held_out, reference)


@task(name="record", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1,
      retry_condition_fn=unless_user_error)
def record_run(catalog_path: Path, record: RunRecord) -> None:
    Catalog(catalog_path).save_run(record)


@task(name="release", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def write_release(catalog_path: Path, family: str, releases_dir: Path) -> Path:
    return release.write_release(Catalog(catalog_path), family, releases_dir)
