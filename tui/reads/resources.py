"""What the Resources screen shows, read from the catalog: every run's stages (wall time,
CPU time, peak memory), each stage's history across runs, and two runs side by side.

Runs differ in their stages (a sliced run has a 'slice ...' stage per slice, an older or a
failed run lacks some), so every function here takes a stage's absence as normal: it is left
out of a history and shown as a gap in a comparison. Plain functions over plain rows, called
from thread workers, so the numbers are tested without a terminal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flows.core.store.catalog import Catalog

MEASURES = ("wall_s", "cpu_s", "peak_rss_mb")
"""What each stage records: seconds on the clock, seconds on a CPU, resident memory (MB)."""


def load_runs(catalog: Catalog) -> list[dict[str, Any]]:
    """Runs, newest first."""
    return catalog.list_runs().to_dicts()


def load_stages(catalog: Catalog, run_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Each run's stages in the order they ran (one short catalog read per run)."""
    return {run_id: catalog.stage_resources(run_id).to_dicts() for run_id in run_ids}


def totals(stages: Sequence[dict[str, Any]]) -> dict[str, float]:
    """A run's whole cost: wall and CPU time summed over its stages, the highest peak."""
    def values(measure: str) -> list[float]:
        return [s[measure] for s in stages if s[measure] is not None]

    return {"wall_s": sum(values("wall_s")), "cpu_s": sum(values("cpu_s")),
            "peak_rss_mb": max(values("peak_rss_mb"), default=0.0)}


@dataclass(frozen=True)
class StageHistory:
    """One stage across the runs that had it, oldest run first."""

    stage: str
    run_ids: tuple[str, ...]
    wall_s: tuple[float, ...]
    peak_rss_mb: tuple[float, ...]


def stage_history(runs: Sequence[dict[str, Any]],
                  stages: dict[str, list[dict[str, Any]]]) -> list[StageHistory]:
    """Per stage, its wall time and peak memory over time. Stages come in the newest run's
    order, then the ones only older runs had; a missing measure counts as zero."""
    by_time = sorted((r for r in runs if r["run_id"] in stages),
                     key=lambda r: r["started_at"] or datetime.min)
    order: dict[str, None] = {}
    for run in reversed(by_time):
        order.update((s["stage"], None) for s in stages[run["run_id"]])
    history = []
    for name in order:
        found = [(run["run_id"], stage) for run in by_time for stage in stages[run["run_id"]]
                 if stage["stage"] == name]
        history.append(StageHistory(
            stage=name, run_ids=tuple(run_id for run_id, _ in found),
            wall_s=tuple(stage["wall_s"] or 0.0 for _, stage in found),
            peak_rss_mb=tuple(stage["peak_rss_mb"] or 0.0 for _, stage in found)))
    return history


@dataclass(frozen=True)
class StageComparison:
    """One stage in two runs: ``first`` and ``second`` map each measure to its value, or are
    None where that run had no such stage."""

    stage: str
    first: dict[str, float | None] | None
    second: dict[str, float | None] | None

    def difference(self, measure: str) -> float | None:
        """Second minus first; None unless both runs measured it."""
        a = self.first[measure] if self.first else None
        b = self.second[measure] if self.second else None
        return None if a is None or b is None else b - a


TOTAL = "all stages"


def compare(first: Sequence[dict[str, Any]],
            second: Sequence[dict[str, Any]]) -> list[StageComparison]:
    """Two runs stage by stage (the first run's order, then stages only the second had),
    ending with their totals."""
    def measures(stage: dict[str, Any]) -> dict[str, float | None]:
        return {m: stage[m] for m in MEASURES}

    a = {s["stage"]: measures(s) for s in first}
    b = {s["stage"]: measures(s) for s in second}
    names = list(a) + [name for name in b if name not in a]
    rows = [StageComparison(name, a.get(name), b.get(name)) for name in names]
    return [*rows, StageComparison(TOTAL, dict(totals(first)), dict(totals(second)))]
