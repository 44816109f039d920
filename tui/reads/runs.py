"""The runs read model: plain rows from the catalog's short locked reads and from the live
run files, merged into one list, so the screens only format and tests check the numbers alone.

A run in progress has no catalog rows until it finishes (they are written in one
transaction), so its row comes from its live file; once recorded, the catalog's row wins.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

from flows.core.data.sources import Source
from flows.core.live_runs import LiveState
from flows.core.store.catalog import Catalog
from flows.core.types import LOWER_IS_BETTER, beats


def recorded_runs(catalog: Catalog) -> list[dict[str, Any]]:
    """Runs in the catalog, newest first, each with its best baseline score on the run's
    main metric and whether the model beats it."""
    rows = catalog.list_runs().to_dicts()
    for row in rows:
        lower = row["main_metric"] in LOWER_IS_BETTER
        baseline = row["baseline_min"] if lower else row["baseline_max"]
        model = row["model_score"]
        row |= {"live": False, "stage": None, "error": None, "baseline_score": baseline,
                "beats": None if model is None or baseline is None
                else beats(row["main_metric"], model, baseline)}
    return rows


def live_rows(states: list[LiveState], now: datetime) -> list[dict[str, Any]]:
    """Rows for runs in progress (or stopped) from their live files; a running run's
    duration counts up to ``now``."""
    rows = []
    for state in states:
        best = state.best
        started = state.started_at
        ended = now if state.status == "running" else state.updated_at
        rows.append({
            "run_id": state.run_id, "live": True, "status": state.status,
            "stage": state.stage, "error": None,
            "dataset": _dataset_name(state), "target": state.target, "task": None,
            "learner": best and best.learner, "main_metric": best and best.metric,
            "model_score": best and best.score, "baseline_score": None, "beats": None,
            "budget_s": state.budget_s, "elapsed_s": best and best.elapsed_s,
            "source": state.source, "started_at": started,
            "duration_s": (ended - started).total_seconds() if started and ended else None})
    return rows


def merge_runs(recorded: list[dict[str, Any]], live: list[dict[str, Any]]
               ) -> list[dict[str, Any]]:
    """Runs in progress first, then the catalog's; a run both live and recorded (the moment
    between its catalog write and its live file's removal) shows as recorded."""
    known = {row["run_id"] for row in recorded}
    return [row for row in live if row["run_id"] not in known] + recorded


def _dataset_name(state: LiveState) -> str:
    """The name the run will record: the given one, else the file's or table's."""
    if state.name:
        return state.name
    source = state.source or ""
    if "://" in source:
        return parse_qs(urlparse(source).query).get("table", ["query"])[0]
    return Source("csv", source).default_name
