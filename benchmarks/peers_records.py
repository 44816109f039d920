"""One record per finished (tool, dataset, seed) run, appended as a JSON line the moment the run
ends, so a benchmark cut short resumes where it stopped and a report can be printed from the
file alone. A run done twice keeps both lines; the newest one counts."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

Key = tuple[str, str, int, float]
"""tool, dataset, seed, budget."""


@dataclass
class RunRecord:
    tool: str
    dataset: str
    task: str
    seed: int
    budget: float
    metric: str
    second_metric: str
    version: str = ""
    """The tool's own version; autopipe's is the commit of the tree it ran from."""
    versions: dict[str, str] = field(default_factory=dict)
    autopipe_commit: str = ""
    autopipe_args: str = ""
    main: float | None = None
    second: float | None = None
    """accuracy, or R² for regression."""
    fit_s: float | None = None
    """The tool's fit call; autopipe: its whole ``autopipe run`` process."""
    wall_s: float | None = None
    """The whole fitting process, start to exit (a peer's includes imports and predicting)."""
    predict_ms: float | None = None
    """Median of 50 single-row predictions in-process, after one warm-up call."""
    peak_mb: float | None = None
    """Peak summed RSS of the fitting process and its children."""
    detail: str | None = None
    """What the tool chose (its best learner or model)."""
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """What explains a result, per tool: autopipe's own validation scores of its model and
    baselines, its stage wall times and the columns it excluded."""
    train_rows: int = 0
    test_rows: int = 0
    load_1m: float | None = None
    """The machine's 1-minute load average when the run started (2 cores: above ~0.5 means
    something else was running)."""
    timestamp: str = ""

    @property
    def key(self) -> Key:
        return self.tool, self.dataset, self.seed, self.budget

    @property
    def failed(self) -> bool:
        return self.error is not None or self.main is None


def load(path: Path) -> list[RunRecord]:
    """Every record in the file, oldest first (unknown fields of other versions ignored)."""
    if not path.exists():
        return []
    names = {f.name for f in fields(RunRecord)}
    records = []
    for line in path.read_text().splitlines():
        if line.strip():
            parsed: dict[str, Any] = json.loads(line)
            records.append(RunRecord(**{k: v for k, v in parsed.items() if k in names}))
    return records


def latest(records: list[RunRecord]) -> dict[Key, RunRecord]:
    return {record.key: record for record in records}


def append(path: Path, record: RunRecord) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(json.dumps(asdict(record)) + "\n")
