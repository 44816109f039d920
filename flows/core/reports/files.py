"""Where reports live and how they are written: one HTML file per dataset analysis and per run,
and each run's summary as JSON.

Files are written under a temporary name and renamed, so a browser never opens half a report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.core.errors import AutopipeError
from flows.core.files import write_atomically
from flows.core.registry.artifacts import model_version_slug, read_card, read_held_out
from flows.core.reports.data import data_report_html
from flows.core.reports.run import RunFacts, run_report_html
from flows.core.store.catalog import Catalog
from flows.core.types import DatasetRef


def data_report_path(reports_dir: Path, dataset: DatasetRef, target: str | None) -> Path:
    suffix = f"-{model_version_slug(target)}" if target else ""
    return reports_dir / f"data-{model_version_slug(dataset.name)}-" \
                         f"{dataset.content_hash[:12]}{suffix}.html"


def run_report_path(reports_dir: Path, run_id: str) -> Path:
    return reports_dir / f"run-{run_id}.html"


def summary_path(reports_dir: Path, run_id: str) -> Path:
    return reports_dir / f"run-{run_id}.json"


def write_data_report(profile: dict[str, Any], dataset: DatasetRef, path: Path) -> Path:
    return write_html(path, data_report_html(profile, dataset.name, dataset.content_hash))


def write_run_report(catalog: Catalog, run_id: str, reports_dir: Path) -> Path:
    """(Re)build a run's report from what the run stored."""
    facts = run_facts(catalog, run_id)
    return write_html(run_report_path(reports_dir, run_id), run_report_html(facts))


def run_facts(catalog: Catalog, run_id: str) -> RunFacts:
    runs = catalog.list_runs().filter(run_id=run_id)
    if runs.is_empty():
        raise AutopipeError(f"no run {run_id!r} in the catalog",
                            "list the runs with 'autopipe runs'")
    run = runs.row(0, named=True)
    artifact = Path(catalog.model(run["model_version"]).artifact_path)
    card = read_card(artifact)
    profile = catalog.profile(card.dataset_hash, run["target"]) if card.dataset_hash else None
    return RunFacts(run=run, evaluations=catalog.evaluations(run_id),
                    trials=catalog.trials(run_id), stages=catalog.stage_resources(run_id),
                    card=card, held_out=read_held_out(artifact), profile=profile,
                    data_report=profile.get("report_path") if profile else None,
                    slices=catalog.slice_results(run_id))


def write_html(path: Path, text: str) -> Path:
    return write_atomically(path, text)
