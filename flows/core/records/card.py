"""The model card as a typed record: what ``card.json`` beside every registered model holds.

The run builds it, the registry writes it, and the card's Markdown, the run report, the TUI,
promotion and retraining read it. Cards written before the record existed (schema version 1,
2026-12 and earlier: a merged dictionary) still read: every field they may lack has a
default, and keys this version does not know are kept as they are.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from flows.core.records.run import ClassBalanceFacts, ExcludedColumn, Metrics
from flows.core.records.training import IntegrationFacts, TrainingFacts

CARD_SCHEMA_VERSION = 2
"""1: the merged dictionary of the runs before typed cards; 2: ``ModelCard``."""


class Explanations(BaseModel):
    """What the run measured beside the metrics (evaluation/held_out.py: explain_model)."""

    permutation_importance: dict[str, float] = Field(default_factory=dict)
    """Per input column: how much the held-out loss grows when its values are shuffled."""
    learner_importance: dict[str, float] = Field(default_factory=dict)
    """Per input column: the learner's own importance, as a share of the total."""
    intervals: dict[str, tuple[float, float]] = Field(default_factory=dict)
    """Per metric: its bootstrap 95% interval over the held-out rows."""
    reference_row: dict[str, Any] | None = None
    """A typical training row: what per-record explanations measure changes against."""
    latency_ms: dict[str, float] | None = None
    """Raw rows through validation, preprocessing and the model: one row, 1,000 rows."""


class Configuration(BaseModel):
    """A fitted configuration, as a retraining fits it again."""

    learner: str
    params: dict[str, Any]
    flaml_params: dict[str, Any] | None = None
    origin: str | None = None


class ModelCard(Explanations):
    """A registered model: what it is, how good it is, how it was made."""

    model_config = ConfigDict(extra="allow", ser_json_inf_nan="constants")
    """Unknown keys (an older or newer card's) are kept; NaN and infinite metrics are written
    as JSON's NaN and Infinity, as cards always were."""

    schema_version: int = 1
    version: str | None = None
    run_id: str | None = None
    dataset: str | None = None
    dataset_hash: str | None = None
    target: str | None = None
    task: str | None = None
    learner: str | None = None
    search_metric: str | None = None
    prefer: Literal["fast", "balanced", "accurate"] | None = None
    validation: str | None = None
    """The validation scheme in words."""
    training: TrainingFacts | None = None
    integration: IntegrationFacts | None = None
    selection: dict[str, Any] | None = None
    """Cards before integration: the search winner chosen against the baselines."""
    configurations: dict[str, Configuration] = Field(default_factory=dict)
    warm_started_from: list[str] | None = None
    max_models: int | None = None
    seed: int | None = None
    budget_s: float | None = None
    test_size: float | None = None
    text_features: str | None = None
    metrics: dict[str, Metrics] = Field(default_factory=dict)
    """Per role ('model', each baseline): held-out metrics."""
    input_schema: dict[str, str] = Field(default_factory=dict)
    created_at: str | None = None
    rows: int | None = None
    test_rows: int | None = None
    dropped_missing_target: int | None = None
    dropped_single_row_classes: list[str] = Field(default_factory=list)
    training_rows: int | None = None
    training_rows_before_cap: int | None = None
    class_balance: ClassBalanceFacts | None = None
    excluded_columns: list[ExcludedColumn] = Field(default_factory=list)
    slice: str | None = None
    """A slice model's slice; None for a run's global model."""
    slice_comparison: dict[str, Metrics] | None = None
    champion_for_slice: str | None = None
    policy: dict[str, Any] | None = None
    policy_breaches: list[dict[str, Any]] = Field(default_factory=list)
    excluded_by_policy: list[str] = Field(default_factory=list)
