"""How a model was made: the portfolio as fitted (training facts) and the choice among the
candidates (integration facts). Written into the run summary and the model card, shown by the
CLI, the TUI and the run report."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Losses = dict[str, float | None]
"""By name: a loss, None where it is undefined (JSON has no NaN)."""


class FitFacts(BaseModel):
    """One configuration as the portfolio fitted it, bagged over the folds."""

    name: str
    learner: str
    origin: str
    fit_s: float
    fold_rounds: list[int]
    """Trees each fold model kept (0 for learners without rounds)."""
    stopped: list[str]
    """Why the folds stopped growing: 'early stopping', 'deadline' or 'complete'."""
    latency_ms_1_row: float
    planned: str | None = None
    """How the budget controller changed it (fewer rounds), if it did."""


class SkippedFacts(BaseModel):
    """A configuration the portfolio did not fit, and why."""

    name: str
    reason: str


class TrainingFacts(BaseModel):
    """The validation scheme and the portfolio as fitted."""

    folds: str
    """The validation scheme in words (k-fold bagging, or a holdout)."""
    fold_count: int
    portfolio: list[FitFacts] = Field(default_factory=list)
    skipped: list[SkippedFacts] = Field(default_factory=list)
    stopped_early: str | None = None


class CandidateFacts(BaseModel):
    """A fitted candidate as the integration weighed it."""

    learner: str
    origin: str
    validation_loss: float | None
    fit_s: float
    latency_ms: dict[str, float] | float
    """Milliseconds for one row and for 1,000 rows (prepared features, every fold); cards of
    2026-11 hold the one-row figure alone."""
    fold_rounds: list[int]
    stopped: list[str]

    @property
    def one_row_ms(self) -> float | None:
        return self.latency_ms.get("1_row") if isinstance(self.latency_ms, dict) \
            else self.latency_ms


class IntegrationFacts(BaseModel):
    """What was chosen, from what, and the validation evidence."""

    kind: Literal["single", "blend", "stack"]
    members: list[str]
    weights: list[float] = Field(default_factory=list)
    """A blend's weight per member (empty for a stack)."""
    validation_loss: Losses = Field(default_factory=dict)
    """Cross-fitted out-of-fold loss per candidate, and of 'single', 'blend' and 'stack'."""
    latency_ms_1_row: dict[str, float] = Field(default_factory=dict)
    """Predicted single-row latency of each option."""
    caller_ms_1_row: float | None = None
    """The assembled model's single-row latency as a caller waits for it, where measured."""
    reason: str = ""
    candidates: dict[str, CandidateFacts] = Field(default_factory=dict)
