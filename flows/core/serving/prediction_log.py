"""Append-only prediction log files, one JSON line per answered record: the one owner of
their folder (``Settings.prediction_logs_dir``), names and lines.

The service writes, the monitor reads (``logged_files``): files, not the catalog, so serving
never contends for the DuckDB lock. Each batch is written with one ``write`` and flushed to
the operating system before the answer goes out, so a killed service loses no prediction it
answered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

Kind = Literal["predictions", "rejections"]


def logged_files(directory: Path, kind: Kind = "predictions") -> list[Path]:
    """The log files of one kind (answered records, or refused requests), oldest first."""
    return sorted(directory.glob(f"{kind}-*.jsonl")) if directory.exists() else []


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
        line = json.dumps({"at": now.isoformat(), "reason": reason, "records": records})
        with self.path_for(now, "rejections").open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()

    def append(self, request_id: str, records: Sequence[Mapping[str, Any]],
               results: Sequence[Mapping[str, Any]], latency_ms: float) -> None:
        """One line per record, with the model version and slice that answered it."""
        now = datetime.now(UTC)
        lines = "".join(
            json.dumps({"request_id": request_id, "index": index, "at": now.isoformat(),
                        "model_version": result["model_version"],
                        "slice": result["slice"], "features": dict(record),
                        "result": dict(result), "latency_ms": round(latency_ms, 3)},
                       default=str) + "\n"
            for index, (record, result) in enumerate(zip(records, results, strict=True)))
        with self.path_for(now).open("a", encoding="utf-8") as handle:
            handle.write(lines)
            handle.flush()
