"""Read models for the TUI: plain rows built from the catalog's short, locked reads.

Kept apart from the widgets so screens only format, and so tests can check the numbers alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flows.core.store import Catalog
from flows.core.types import LOWER_IS_BETTER


@dataclass(frozen=True)
class RunDetail:
    run_id: str
    main_metric: str
    roles: tuple[str, ...]
    learners: dict[str, str]
    metrics: dict[str, dict[str, float]]
    """metric -> role -> value"""
    resources: tuple[dict[str, Any], ...]


def load_runs(catalog: Catalog) -> list[dict[str, Any]]:
    """Runs, newest first, each with its best baseline score on the run's main metric."""
    rows = catalog.list_runs().to_dicts()
    for row in rows:
        lower = row["main_metric"] in LOWER_IS_BETTER
        row["baseline_score"] = row["baseline_min"] if lower else row["baseline_max"]
    return rows


def load_detail(catalog: Catalog, run_id: str, main_metric: str) -> RunDetail:
    evaluations = catalog.evaluations(run_id).to_dicts()
    roles = tuple(sorted({e["role"] for e in evaluations}, key=lambda r: (r != "model", r)))
    metrics: dict[str, dict[str, float]] = {}
    for e in evaluations:
        metrics.setdefault(e["metric"], {})[e["role"]] = e["value"]
    return RunDetail(
        run_id=run_id, main_metric=main_metric, roles=roles,
        learners={e["role"]: e["learner"] for e in evaluations}, metrics=metrics,
        resources=tuple(catalog.stage_resources(run_id).to_dicts()))
