"""Progress events from the stages, as plain log records.

Stages emit on the ``autopipe.progress`` logger; a front end that wants a live display attaches
a handler and reads ``record.progress``. No callbacks cross the Prefect task boundary, and a
run without a display costs nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Self

LOGGER = logging.getLogger("autopipe.progress")
SEARCH_STAGES = ("portfolio", "tune")
"""The stages that report a best score as they go, against the run's budget."""


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


class ProgressListener(logging.Handler):
    """Receives the progress events emitted while inside its ``with`` block."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)

    def __enter__(self) -> Self:
        LOGGER.addHandler(self)
        LOGGER.setLevel(logging.INFO)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        LOGGER.removeHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        event: ProgressEvent | None = getattr(record, "progress", None)
        if event is not None:
            self.show(event)

    def show(self, event: ProgressEvent) -> None:
        raise NotImplementedError
