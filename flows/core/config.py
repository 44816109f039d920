"""Settings, loaded once at the edge (CLI, flow entry, service) and passed down.

Every field can be set from the environment: ``AUTOPIPE_HOME``, ``AUTOPIPE_SEARCH__BUDGET_S``,
``AUTOPIPE_SERVE__PORT`` and so on (nested sections use ``__``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SearchSettings(BaseModel):
    """How the model search spends its time."""

    budget_s: float = Field(60.0, gt=0)
    """Seconds FLAML may spend searching (the refit of the winner comes on top)."""
    seed: int = 0
    """Seed for the split, the search and the baselines: same data + same seed, same split."""
    test_size: float = Field(0.2, gt=0, lt=1)
    """Share of rows held out for the final evaluation; the search never sees them."""
    n_jobs: int = -1
    """Threads per trial; -1 uses every core."""
    text_features: Literal["auto", "tfidf", "embeddings"] = "auto"
    """Free-text columns: pretrained sentence embeddings when the text extra is installed
    ('auto'), or always TF-IDF, or embeddings (an error without the extra)."""
    max_rows: int = Field(250_000, gt=100)
    """Training rows above this are sampled down (stratified) for the baselines and the
    search; the held-out test part is always used whole."""


class RegistrySettings(BaseModel):
    """When a challenger may replace a champion."""

    promotion_margin: float = Field(0.001, ge=0)
    """How much better (on the main metric, same held-out rows) a challenger must score."""


class ServeSettings(BaseModel):
    """Where the prediction service listens."""

    host: str = "127.0.0.1"
    port: int = 3000
    workers: int = Field(2, ge=1)
    """Service worker processes, each with its own copy of the models: with one, concurrent
    clients queued (8 clients: p50 357 ms; 150 ms with two, on 2 cores)."""


class ServerSettings(BaseModel):
    """The local Prefect server a command starts when no PREFECT_API_URL is set."""

    idle_stop_minutes: float = Field(60.0, ge=0)
    """It stops after this long without a flow run (0: never) and the next command starts it
    again; one started by ``autopipe server start`` runs until ``autopipe server stop``."""

    @property
    def idle_stop_s(self) -> float | None:
        return self.idle_stop_minutes * 60 or None


class MonitorSettings(BaseModel):
    """When live traffic counts as drifted."""

    psi: float = Field(0.2, gt=0)
    """Population stability index above which a feature (or the predictions) drifted."""
    p_value: float = Field(0.01, gt=0, lt=1)
    """Kolmogorov-Smirnov (numbers) or chi-square (categories) p-value below which it did."""
    min_rows: int = Field(100, ge=10)
    """Live rows a model and slice need before drift is judged."""
    rejected_rate: float = Field(0.05, gt=0, lt=1)
    """Share of refused requests above which the service is alerted on."""
    latency_p99_ms: float = Field(1000.0, gt=0)
    """99th-percentile answer time above which the service is alerted on."""


class FeedbackSettings(BaseModel):
    """What goes to a person's review, when live performance alerts, how retraining judges."""

    confidence_below: float = Field(0.6, gt=0, le=1)
    """Classifications whose top probability is below this are queued for review."""
    sample_share: float = Field(0.02, ge=0, le=1)
    """Share of all predictions queued at random, for quality control."""
    per_alert: int = Field(20, ge=0)
    """Newest predictions queued per open alert on their model and slice."""
    max_new_reviews: int = Field(200, ge=0)
    """Entries one refresh adds to the queue at most, most urgent first."""
    min_labels: int = Field(30, ge=1)
    """Labelled predictions a model and slice need before live performance is judged."""
    performance_drop: float = Field(0.1, gt=0)
    """Relative loss of the main metric against the test metric that raises an alert."""
    fresh_share: float = Field(0.3, gt=0, lt=1)
    """Share of labelled predictions retraining keeps out of training, to judge both models."""
    auto_promote: bool = False
    """Promote a retrained challenger without a person when it clears the gate by min_gain."""
    min_gain: float = Field(0.01, ge=0)
    """How much better (main metric, fresh rows) an automatically promoted model must be."""


class Settings(BaseSettings):
    """All of autopipe's settings, rooted at one home directory."""

    model_config = SettingsConfigDict(
        env_prefix="AUTOPIPE_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Path("data")
    """Where the catalog, snapshots, models, reports, logs and tool state live."""
    search: SearchSettings = Field(default_factory=SearchSettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings)

    @property
    def root(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def catalog_path(self) -> Path:
        return self.root / "autopipe.duckdb"

    @property
    def datasets_dir(self) -> Path:
        return self.root / "datasets"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def releases_dir(self) -> Path:
        return self.root / "releases"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def prediction_logs_dir(self) -> Path:
        """The service's prediction and rejection logs (flows/core/serving/prediction_log.py)."""
        return self.logs_dir / "predictions"

    @property
    def live_dir(self) -> Path:
        """Runs in progress (flows/core/live_runs.py)."""
        return self.root / "live"

    @property
    def inbox_dir(self) -> Path:
        """Files submitted to the server's workers (autopipe run --remote), by content."""
        return self.root / "inbox"

    @property
    def work_dir(self) -> Path:
        """Files a run hands to workers (a slice's inputs and outcome), removed when it ends."""
        return self.root / "work"

    @property
    def bentoml_home(self) -> Path:
        return self.root / "bentoml"

    @property
    def prefect_home(self) -> Path:
        return self.root / "prefect"
