from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from flows.core.evaluation.metrics import classification_metrics, regression_metrics
from flows.core.records.card import CARD_SCHEMA_VERSION, ModelCard
from flows.core.registry.artifacts import read_card
from flows.core.registry.card import bootstrap_intervals, model_card_markdown
from flows.core.types import Task


def binary_scores(rows: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, rows)
    positive = np.clip(0.3 + 0.4 * y + rng.normal(scale=0.2, size=rows), 0.01, 0.99)
    return y, np.column_stack([1 - positive, positive])


def test_bootstrap_intervals_bracket_every_binary_metric() -> None:
    y, proba = binary_scores()
    point = classification_metrics(y, proba, Task.BINARY)
    intervals = bootstrap_intervals(y, proba, Task.BINARY, seed=0, resamples=25)
    assert set(intervals) == set(point)
    for name, (lower, upper) in intervals.items():
        assert lower <= point[name] <= upper, name
        assert upper - lower > 0, name
    assert bootstrap_intervals(y, proba, Task.BINARY, seed=3, resamples=5) == \
        bootstrap_intervals(y, proba, Task.BINARY, seed=3, resamples=5)


def test_bootstrap_intervals_for_regression() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=150)
    predicted = y + rng.normal(scale=0.5, size=150)
    point = regression_metrics(y, predicted)
    intervals = bootstrap_intervals(y, predicted, Task.REGRESSION, seed=0, resamples=50)
    assert set(intervals) == {"rmse", "mae", "r2"}
    assert all(lo <= point[name] <= hi for name, (lo, hi) in intervals.items())


def test_a_metric_undefined_on_some_resamples_still_gets_an_interval() -> None:
    """One row of a rare class: most resamples lack it, and AUROC is skipped there."""
    y = np.array([0] * 30 + [1])
    proba = np.column_stack([np.linspace(0.9, 0.6, 31), np.linspace(0.1, 0.4, 31)])
    intervals = bootstrap_intervals(y, proba, Task.BINARY, seed=0, resamples=20)
    assert intervals["roc_auc"] == pytest.approx((1.0, 1.0))
    assert "accuracy" in intervals


def card(**changes: Any) -> dict[str, Any]:
    """A card as the train flow builds it."""
    return {
        "version": "titanic-abc123", "run_id": "abc123", "dataset": "titanic",
        "dataset_hash": "f00d" * 16, "target": "survived", "task": "binary",
        "learner": "lgbm", "seed": 7, "budget_s": 30.0, "created_at": "2025-01-02T03:04:05",
        "search_metric": "log_loss",
        "validation": "8-fold bagging: 8 fold models, out-of-fold predictions for 700 rows",
        "integration": {"kind": "blend", "members": ["lgbm", "xgboost"], "weights": [0.6, 0.4],
                        "reason": "the blend lowers validation log loss by 2%",
                        "validation_loss": {"lgbm": 0.43, "xgboost": 0.44, "blend": 0.42}},
        "training": {"folds": "8-fold bagging: 8 fold models", "fold_count": 8,
                     "portfolio": [
                         {"name": "lgbm", "learner": "lgbm",
                          "origin": "FLAML zero-shot #1 for this table",
                          "fit_s": 1.5, "fold_rounds": [80, 95], "stopped": ["early stopping"],
                          "latency_ms_1_row": 0.3, "planned": None},
                         {"name": "xgboost", "learner": "xgboost",
                          "origin": "FLAML zero-shot #1 for this table",
                          "fit_s": 2.5, "fold_rounds": [40, 60], "stopped": ["complete"],
                          "latency_ms_1_row": 0.9, "planned": None}],
                     "skipped": [{"name": "catboost", "reason": "predicted 40 s, 3 s left"}],
                     "stopped_early": None},
        "metrics": {
            "model": {"accuracy": 0.82, "log_loss": 0.41, "roc_auc": 0.88},
            "baseline_linear": {"accuracy": 0.79, "log_loss": 0.45, "roc_auc": 0.84},
            "baseline_hgb": {"accuracy": 0.80, "log_loss": 0.44, "roc_auc": 0.86},
        },
        "input_schema": {"age": "number", "sex": "text"},
        "dropped_missing_target": 3, "dropped_single_row_classes": [],
        "training_rows": 700, "training_rows_before_cap": None,
        "class_balance": {"counts": {"0": 630, "1": 70}, "minority_class": "1",
                          "minority_share": 0.1, "weighted": False},
        "excluded_columns": [
            {"column": "passenger_id", "reason": "identifier: a distinct code in almost every row"},
            {"column": "boat", "reason": "leaks the target: alone it predicts it with AUROC 0.97"},
        ],
    } | changes


def render(**changes: Any) -> str:
    return model_card_markdown(ModelCard.model_validate(
        card(**changes) | {"intervals": {"roc_auc": (0.85, 0.91), "accuracy": (0.79, 0.85)},
                           "permutation_importance": {"sex": 0.12, "age": 0.03},
                           "learner_importance": {"sex": 0.7, "age": 0.3}}))


def test_model_card_has_every_section_and_fact() -> None:
    text = render()
    for heading in ("# Model card: titanic-abc123", "## Model", "## Intended use and limitations",
                    "## Data", "## Metrics", "## Feature importance", "## How it was fitted"):
        assert f"\n{heading}\n" in f"\n{text}"
    assert "- Dataset: titanic (content hash `" + "f00d" * 16 + "`)" in text
    assert "- Seed: 7" in text and "- Budget: 30 s" in text
    assert "- Created: 2025-01-02T03:04:05" in text
    assert "- Chosen: blend of lgbm + xgboost: the blend lowers validation log loss by 2%" in text
    assert "| roc_auc | 0.8800 | 0.8500 – 0.9100 |" in text
    assert "| log_loss | 0.4100 | – |" in text  # no interval given: shown as missing


def test_model_card_names_excluded_columns_leaks_and_imbalance() -> None:
    text = render()
    assert "| passenger_id | identifier: a distinct code in almost every row |" in text
    assert "| boat | leaks the target: alone it predicts it with AUROC 0.97 |" in text
    assert "`boat` leaked the target" in text
    assert "Classes are imbalanced: `1` is 10.0% of the training rows" in text
    assert "No column was excluded." in render(excluded_columns=[])
    assert "imbalanced" not in render(class_balance=None)


def test_model_card_compares_with_each_baseline_on_the_main_metric() -> None:
    text = render()
    assert "| model (lgbm) | 0.8200 | 0.4100 | 0.8800 |" in text
    assert "| linear baseline (scikit-learn defaults) `baseline_linear` | 0.7900 |" in text
    assert "`baseline_hgb` | 0.8000 | 0.4400 | 0.8600 |" in text
    assert ("roc_auc (higher is better): 0.8800 against 0.8600 for the best baseline "
            "`baseline_hgb`, 0.0200 (2.3%) better than it.") in text
    assert "Lower is better for log_loss" in text


def test_lift_on_a_lower_is_better_main_metric_prefers_the_smaller_baseline() -> None:
    metrics = {"model": {"rmse": 5.0}, "baseline_linear": {"rmse": 4.0},
               "baseline_hgb": {"rmse": 6.0}}
    text = render(task="regression", metrics=metrics,
                  integration={"kind": "single", "members": ["baseline_linear"]})
    assert "rmse (lower is better): 5.0000 against 4.0000 for the best baseline " \
           "`baseline_linear`, 1.0000 (25.0%) worse than it." in text
    assert "`baseline_linear` itself was registered" in text
    assert "- Chosen: single of baseline_linear" in text
    assert "Increase in RMSE" in text


def test_model_card_shows_the_portfolio_its_folds_weights_and_what_was_skipped() -> None:
    text = render()
    assert "trained on the training part only (its fold models, no refit)" in text
    assert "8-fold bagging: 8 fold models." in text
    assert "| lgbm | FLAML zero-shot #1 for this table | 0.4300 | 1.5 | 80–95 | 0.6000 |" in text
    assert "| xgboost | FLAML zero-shot #1 for this table | 0.4400 | 2.5 | 40–60 | 0.4000 |" \
        in text
    assert "- catboost: predicted 40 s, 3 s left" in text
    assert "- Validation: 8-fold bagging" in text
    assert "trained on the training part only" in render(training=None)


def test_model_card_survives_a_sparse_card_and_escapes_pipes() -> None:
    text = model_card_markdown(ModelCard.model_validate(
        {"excluded_columns": [{"column": "a|b", "reason": "x"}]}))
    assert "| a\\|b | x |" in text
    assert "No metrics recorded." in text
    assert text.count("Not available for this learner.") == 2


def test_multiclass_intervals_cover_its_metrics() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 120)
    logits = rng.normal(size=(120, 3)) + 2 * np.eye(3)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    intervals = bootstrap_intervals(y, proba, Task.MULTICLASS, seed=0, resamples=20)
    assert set(intervals) == set(classification_metrics(y, proba, Task.MULTICLASS))


def test_a_card_written_before_typed_cards_still_reads() -> None:
    """Schema version 1: the merged dictionary the runs of 2026-12-02 wrote."""
    directory = Path(__file__).parents[2] / "data" / "tui_home" / "models" / "titanic-5fd46a048ee5"
    old = read_card(directory)
    assert old.schema_version == 1 and old.version == "titanic-5fd46a048ee5"
    assert old.integration is not None and old.integration.members
    assert old.training is not None and old.training.portfolio
    assert old.metrics["model"]["roc_auc"] is not None
    assert "## How it was fitted" in model_card_markdown(old)


def test_a_card_round_trips_with_undefined_metrics_and_unknown_keys(tmp_path: Path) -> None:
    written = ModelCard.model_validate(card(metrics={"model": {"roc_auc": float("nan")}})
                                       | {"schema_version": CARD_SCHEMA_VERSION,
                                          "from_the_future": {"x": 1}})
    (tmp_path / "card.json").write_text(written.model_dump_json())
    again = read_card(tmp_path)
    assert again.schema_version == CARD_SCHEMA_VERSION
    assert np.isnan(again.metrics["model"]["roc_auc"])
    assert (again.model_extra or {})["from_the_future"] == {"x": 1}
    assert read_card(tmp_path / "gone") == ModelCard()
