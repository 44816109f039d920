"""Typed records that cross a process boundary as JSON files.

A run's outcome: how an ``autopipe run`` ended, written by the command to the file its caller
named (``--outcome FILE``), so a program that started it (the TUI) reads the result, or the
error and its hint, from a file of known shape instead of the command's terminal output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from flows.core.errors import BUG_HINT, AutopipeError
from flows.core.files import write_atomically
from flows.core.records.run import RunSummary


class RunOutcome(BaseModel):
    """A finished run's id and model, or what went wrong and how to fix it."""

    status: Literal["completed", "failed"]
    run_id: str | None = None
    model_version: str | None = None
    error: str | None = None
    hint: str | None = None

    @classmethod
    def completed(cls, summary: RunSummary) -> RunOutcome:
        return cls(status="completed", run_id=summary.run_id,
                   model_version=summary.model_version)

    @classmethod
    def failed(cls, error: BaseException) -> RunOutcome:
        if isinstance(error, AutopipeError):
            return cls(status="failed", error=error.message, hint=error.hint)
        return cls(status="failed", error=f"unexpected failure: {type(error).__name__}: {error}",
                   hint=BUG_HINT)

    def write(self, path: Path) -> None:
        write_atomically(path, self.model_dump_json(indent=1).encode())

    @classmethod
    def read(cls, path: Path) -> RunOutcome | None:
        """The outcome in ``path``, or None when the run wrote none (it was killed)."""
        try:
            return cls.model_validate_json(path.read_bytes())
        except (OSError, ValueError):
            return None
