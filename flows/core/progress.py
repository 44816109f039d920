"""Progress events from the stages, as plain log records.

Stages emit on the ``autopipe.progress`` logger; a front end that wants a live display attaches
a handler and reads ``record.progress``. No callbacks cross the Prefect task boundary, and a
run without a display costs nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

LOGGER = logging.getLogger("autopipe.progress")


@dataclass(frozen=True)
class ProgressEvent:
    """A stage started, finished, or (for the search) improved its best score."""

    stage: str
    status: str
    message: str = ""
    elapsed_s: float | None = None
    budget_s: float | None = None
    best_score: float | None = None
    best_learner: str | None = None
    metric: str | None = None


def emit(event: ProgressEvent) -> None:
    LOGGER.info("%s %s %s", event.stage, event.status, event.message,
                extra={"progress": event})
