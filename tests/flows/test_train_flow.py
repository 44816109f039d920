"""The real train flow on the shipped samples, against a real Prefect server."""

from __future__ import annotations

import polars as pl
import pytest

from flows.core.config import Settings
from flows.core.evaluation.held_out import evaluate_model
from flows.core.preparation.prepared import prepare_training
from flows.core.records.run import RunSummary
from flows.core.registry.artifacts import read_card
from flows.core.registry.model import load_model
from flows.core.store.catalog import Catalog
from tests.conftest import SAMPLE_RUNS, TEST_MODELS

EXPECTED_METRICS = {
    "binary": {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"},
    "multiclass": {"accuracy", "f1_macro", "log_loss", "roc_auc_ovr"},
    "regression": {"rmse", "mae", "r2"},
}
STAGES = ["ingest", "profile", "prepare", "baseline", "portfolio", "tune", "integrate",
          "evaluate", "explain", "register"]


@pytest.mark.parametrize("task", list(SAMPLE_RUNS))
def test_run_is_recorded_in_the_catalog(trained: dict[str, RunSummary], task: str) -> None:
    summary = trained[task]
    catalog = Catalog(Settings().catalog_path)
    runs = catalog.list_runs().filter(run_id=summary.run_id).to_dicts()
    assert len(runs) == 1
    run = runs[0]
    assert run["task"] == task and run["status"] == "completed"
    assert run["model_version"] == summary.model_version
    evaluations = catalog.evaluations(summary.run_id)
    assert set(evaluations["role"]) == {"model", "baseline_linear", "baseline_hgb"}
    assert set(evaluations.filter(role="model")["metric"]) == EXPECTED_METRICS[task]
    assert set(summary.metrics) == EXPECTED_METRICS[task]
    stages = catalog.stage_resources(summary.run_id)
    assert stages["stage"].to_list() == STAGES
    assert (stages["peak_rss_mb"] > 50).all()
    card = read_card(catalog.model(summary.model_version).artifact_path)
    integration = card.integration
    assert integration is not None and card.training is not None and card.validation
    assert integration.kind in {"single", "blend", "stack"} and integration.members
    assert integration.reason and "single" in integration.validation_loss
    assert card.search_metric == {"regression": "rmse"}.get(task, "log_loss")
    assert card.validation.startswith("8-fold bagging")  # small tables
    assert card.max_models == summary.max_models == TEST_MODELS
    assert list(card.configurations) == ["linear", "lgbm"]  # the portfolio's first two
    assert [fit.name for fit in card.training.portfolio] == ["linear", "lgbm"]
    for name, candidate in integration.candidates.items():
        assert isinstance(candidate.latency_ms, dict)
        assert set(candidate.latency_ms) == {"1_row", "1000_rows"}, name
        assert candidate.validation_loss == integration.validation_loss[name]
        assert len(candidate.fold_rounds) == 8
    latency = card.latency_ms
    assert latency is not None
    assert 0 < latency["1000_rows"] / 1000 < latency["1_row"]  # batches amortise the overhead
    trials = catalog.trials(summary.run_id)
    assert len(trials) == summary.trials == TEST_MODELS


@pytest.mark.parametrize("task", list(SAMPLE_RUNS))
def test_every_model_has_a_card_with_intervals_and_importance(
        trained: dict[str, RunSummary], task: str) -> None:
    summary = trained[task]
    directory = Catalog(Settings().catalog_path).model(summary.model_version).artifact_path
    card = read_card(directory)
    main = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}[task]
    low, high = card.intervals[main]
    assert low <= summary.metrics[main] <= high and low < high
    importance = card.permutation_importance
    assert set(importance) == set(card.input_schema)
    assert set(card.reference_row or {}) == set(card.input_schema)
    markdown = (directory / "card.md").read_text()
    for section in ("## Intended use and limitations", "## Metrics", "## Feature importance"):
        assert section in markdown
    assert next(iter(importance)) in markdown  # the most important column is named
    assert "Prediction latency:" in markdown


def test_metrics_are_in_sensible_ranges(trained: dict[str, RunSummary]) -> None:
    binary = trained["binary"].metrics
    assert 0.7 < binary["roc_auc"] <= 1 and 0.6 < binary["accuracy"] <= 1
    assert all(0 <= binary[m] <= 1 for m in ("precision", "recall", "f1"))
    multiclass = trained["multiclass"].metrics
    assert multiclass["accuracy"] > 0.85 and multiclass["log_loss"] < 0.5
    regression = trained["regression"].metrics
    assert regression["r2"] > 0.85 and 0 < regression["mae"] < regression["rmse"]


def test_titanic_free_text_name_becomes_a_text_feature(
        trained: dict[str, RunSummary]) -> None:
    summary = trained["binary"]
    assert summary.excluded_columns == []
    model = load_model(Catalog(Settings().catalog_path).model(
        summary.model_version).artifact_path)
    assert model.input_schema["name"] == "text"
    steps = {name for name, *_ in model.pipeline.named_steps["prepare"].transformers_}
    assert "text_name" in steps and "target_encoded" in steps  # ticket, cabin: many levels


@pytest.mark.parametrize("task", list(SAMPLE_RUNS))
def test_the_registered_model_reproduces_the_flow_metrics(
        trained: dict[str, RunSummary], task: str) -> None:
    summary = trained[task]
    record = Catalog(Settings().catalog_path).model(summary.model_version)
    model = load_model(record.artifact_path)
    assert model.version == summary.model_version
    _, target = SAMPLE_RUNS[task]
    snapshot = Settings().datasets_dir / f"{summary.dataset_hash[:16]}.parquet"
    prepared = prepare_training(pl.read_parquet(snapshot), target, 0.2, seed=0)
    again = evaluate_model(model, prepared, "model")
    assert again.metrics == pytest.approx(summary.metrics, rel=1e-9)


def test_dataset_snapshot_is_content_hashed(trained: dict[str, RunSummary]) -> None:
    settings = Settings()
    summary = trained["binary"]
    snapshot = settings.datasets_dir / f"{summary.dataset_hash[:16]}.parquet"
    assert snapshot.exists()
    datasets = Catalog(settings.catalog_path).datasets()
    assert summary.dataset_hash in datasets["content_hash"].to_list()
