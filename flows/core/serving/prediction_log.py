"""Append-only prediction log files, one JSON line per answered record: the one owner of
their folder (``Settings.prediction_logs_dir``), names and lines.

The service writes, the monitor reads (``logged_files``): files, not the catalog, so serving
never contends for the DuckDB lock. Each batch is written with one ``write`` and flushed to
the operating system before the answer goes out, so a killed service loses no prediction it
answered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

Kind = Literal["predictions", "rejections"]


class LoggedPrediction(BaseModel):
    """One answered record: a line of a ``predictions-*.jsonl`` file."""

    request_id: str
    index: int
    """The record's place in its request."""
    at: datetime
    model_version: str
    slice: str
    features: dict[str, Any]
    """The record as the caller sent it."""
    result: dict[str, Any]
    """What the service answered for it: prediction, probabilities, slice, model version."""
    latency_ms: float
    """The whole request's."""


LOGGED_COLUMNS: dict[str, str] = {
    "request_id": "VARCHAR", "index": "INTEGER", "at": "VARCHAR", "model_version": "VARCHAR",
    "slice": "VARCHAR", "features": "JSON", "result": "JSON", "latency_ms": "DOUBLE"}
"""How the catalog reads a ``LoggedPrediction`` line (DuckDB's ``read_json`` columns)."""


class Rejection(BaseModel):
    """A refused request: a line of a ``rejections-*.jsonl`` file."""

    at: datetime
    reason: str
    records: int


def logged_files(directory: Path, kind: Kind = "predictions") -> list[Path]:
    """The log files of one kind (answered records, or refused requests), oldest first."""
    return sorted(directory.glob(f"{kind}-*.jsonl")) if directory.exists() else []


def read_rejections(directory: Path) -> list[Rejection]:
    """Every refused request in the log folder, oldest file first."""
    return [Rejection.model_validate_json(line) for path in logged_files(directory, "rejections")
            for line in path.read_text(encoding="utf-8").splitlines() if line]


class PredictionLog:
    """The writer a service appends to."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def path_for(self, moment: datetime, kind: Kind = "predictions") -> Path:
        return self.directory / f"{kind}-{moment:%Y-%m-%d}.jsonl"

    def reject(self, reason: str, records: int) -> None:
        """A refused request (what was wrong, how many records): the monitor's error rate."""
        now = datetime.now(UTC)
        line = Rejection(at=now, reason=reason, records=records).model_dump_json()
        with self.path_for(now, "rejections").open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()

    def append(self, request_id: str, records: Sequence[Mapping[str, Any]],
               results: Sequence[Mapping[str, Any]], latency_ms: float) -> None:
        """One line per record, with the model version and slice that answered it."""
        now = datetime.now(UTC)
        lines = "".join(
            LoggedPrediction(request_id=request_id, index=index, at=now,
                             model_version=result["model_version"], slice=result["slice"],
                             features=dict(record), result=dict(result),
                             latency_ms=round(latency_ms, 3)).model_dump_json(fallback=str)
            + "\n"
            for index, (record, result) in enumerate(zip(records, results, strict=True)))
        with self.path_for(now).open("a", encoding="utf-8") as handle:
            handle.write(lines)
            handle.flush()
