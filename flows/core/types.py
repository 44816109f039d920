"""Frozen records passed between stages: what each stage hands the next."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

LOWER_IS_BETTER = frozenset({"rmse", "mae", "log_loss"})
"""Metrics where a smaller value is better; every other metric is higher-is-better."""


def beats(metric: str, value: float, other: float) -> bool:
    """Whether ``value`` is strictly better than ``other`` on ``metric``."""
    return value < other if metric in LOWER_IS_BETTER else value > other


class Task(StrEnum):
    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"

    @property
    def is_classification(self) -> bool:
        return self is not Task.REGRESSION


@dataclass(frozen=True)
class DatasetRef:
    """An immutable, content-hashed snapshot of an ingested table."""

    name: str
    content_hash: str
    snapshot_path: Path
    source: str
    rows: int
    columns: int
    created_at: datetime
    report: dict[str, Any] = field(default_factory=dict, compare=False)
    """What ingest did: rows read, duplicates dropped, per-column types and missing values."""

    @property
    def short_hash(self) -> str:
        return self.content_hash[:16]

    def spellings(self, column: str) -> dict[str, str]:
        """How the source wrote ``column``'s values where ingest stores them otherwise
        (typed as booleans, trimmed): stored value as text -> written form; {} if unchanged."""
        return dict(self.report.get("spellings", {}).get(column, {}))


@dataclass(frozen=True)
class Exclusion:
    """A column left out of the features, and why the user should know."""

    column: str
    reason: str


@dataclass(frozen=True)
class Trial:
    """One FLAML trial: the leaderboard is made of these."""

    number: int
    learner: str
    config: dict[str, Any]
    val_loss: float
    trial_time_s: float
    wall_clock_s: float


@dataclass(frozen=True)
class StageUsage:
    """Wall time, CPU time and peak memory of one stage of a run."""

    stage: str
    started_at: datetime
    wall_s: float
    cpu_s: float
    peak_rss_mb: float


@dataclass(frozen=True)
class Evaluation:
    """Held-out metrics of one fitted candidate (the winner or a baseline)."""

    role: str
    learner: str
    metrics: dict[str, float]
    outputs: Any = field(default=None, repr=False, compare=False)
    """Class probabilities (rows x classes) or predicted values on the test rows: what the
    run report draws its curves from. Not stored in the catalog."""


@dataclass(frozen=True)
class ModelRecord:
    """A registered model version: where its artifact lives and what it was trained on."""

    version: str
    run_id: str
    dataset_hash: str
    target: str
    task: Task
    learner: str
    artifact_path: Path
    created_at: datetime
    metrics: dict[str, float] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=dict)
    slice: str = ""
    """The slice it was trained for ('' for a global model)."""


@dataclass(frozen=True)
class SliceRecord:
    """How a run served one slice: its own model or the global one, and the evidence."""

    name: str
    champion_version: str
    """The version that serves the slice: its own model's or the run's global model's."""
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    """'slice' and 'global' -> test metrics on the slice's held-out rows."""
    model: ModelRecord | None = None
    """The slice's own model; None when it had too few rows for one."""
    reason: str | None = None
    policy: str | None = None
    breaches: tuple[dict[str, Any], ...] = ()
    """Rules of the policy the slice model broke: it then does not serve the slice."""


SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "blue"}
"""How alerts of each severity are coloured in a terminal, by the CLI and the TUI alike."""


@dataclass(frozen=True)
class Alert:
    """A problem a person should look at; repeats of an open one update it."""

    kind: str
    severity: str
    message: str
    model_version: str | None = None
    slice: str | None = None
    feature: str | None = None
    statistic: str | None = None
    value: float | None = None
    threshold: float | None = None
    """Code and library versions, seed and configuration: what it takes to rebuild it."""


@dataclass(frozen=True)
class RunRecord:
    """Everything one training run writes to the catalog, in one transaction."""

    run_id: str
    dataset: DatasetRef
    target: str
    task: Task
    budget_s: float
    seed: int
    started_at: datetime
    finished_at: datetime
    main_metric: str
    exclusions: tuple[Exclusion, ...]
    trials: tuple[Trial, ...]
    evaluations: tuple[Evaluation, ...]
    stages: tuple[StageUsage, ...]
    model: ModelRecord
    flow_run_id: str | None = None
    profile: dict[str, Any] | None = field(default=None, repr=False)
    """The analysis of the dataset version for this target, when the run made one."""
    profile_report: Path | None = None
    slices: tuple[SliceRecord, ...] = ()
