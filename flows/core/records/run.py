"""A run's summary: what ``autopipe run --json`` prints, what a remote follower reads from the
file the run wrote, and what the CLI shows. One model for all of them."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from flows.core.files import write_atomically
from flows.core.records.training import IntegrationFacts, TrainingFacts

Metrics = dict[str, float | None]
"""Metric name -> value; None where it is undefined on the rows (JSON has no NaN)."""


class StageFacts(BaseModel):
    """One stage's wall time, CPU time and peak memory."""

    stage: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float


class BaselineFacts(BaseModel):
    learner: str
    metrics: Metrics


class ClassBalanceFacts(BaseModel):
    counts: dict[str, int]
    minority_class: str
    minority_share: float
    weighted: bool
    """Whether training weighed each class equally."""


class ExcludedColumn(BaseModel):
    column: str
    reason: str


class DataAlert(BaseModel):
    """A finding of the data analysis (profile alerts)."""

    kind: str
    severity: str
    column: str | None = None
    value: float | None = None
    threshold: float | None = None
    message: str


class SliceSummary(BaseModel):
    """How the run served one slice: its own model or the global one, and the evidence."""

    slice: str
    model_version: str | None
    """The slice's own model; None when it had too few rows for one."""
    champion_version: str
    reason: str | None = None
    metrics: dict[str, Metrics] = Field(default_factory=dict)
    """'slice' and 'global' -> test metrics on the slice's held-out rows."""
    policy: str | None = None
    breaches: list[dict[str, object]] = Field(default_factory=list)


class DataFacts(BaseModel):
    """What the run did to the data before training."""

    dropped_missing_target: int
    dropped_single_row_classes: list[str]
    training_rows: int
    training_rows_before_cap: int | None
    class_balance: ClassBalanceFacts | None
    excluded_columns: list[ExcludedColumn]


class RunSummary(DataFacts):
    """The result of a run."""

    run_id: str
    flow_run_id: str | None
    dataset: str
    dataset_hash: str
    rows: int
    duplicates_dropped: int = 0
    duplicates_kept: int = 0
    target: str
    task: str
    main_metric: str
    search_metric: str
    model_version: str
    learner: str
    release: str
    """The release file a service watches."""
    metrics: Metrics
    """The model's test metrics."""
    baselines: dict[str, BaselineFacts]
    trials: int
    stages: list[StageFacts]
    duration_s: float
    budget_s: float
    max_models: int | None
    validation: str
    training: TrainingFacts
    integration: IntegrationFacts
    slices: list[SliceSummary] = Field(default_factory=list)
    report: str
    data_report: str
    data_alerts: list[DataAlert] = Field(default_factory=list)

    def write(self, path: Path) -> Path:
        return write_atomically(path, self.model_dump_json(indent=1).encode())

    @classmethod
    def read(cls, path: Path) -> RunSummary:
        return cls.model_validate_json(path.read_bytes())
