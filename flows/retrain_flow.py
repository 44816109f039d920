"""The ``retrain`` flow: a challenger from the champion's data plus people's labels and
corrections, judged against the champion on fresh labelled rows.

The challenger is trained by the ``train`` flow (a subflow: ingest of the new dataset
version, the champion's configurations fitted first, registration as challenger).
Promotion stays a person's call (``autopipe promote``) unless automatic promotion is
configured, and then only with at least the configured gain.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow

from flows.core.config import Settings
from flows.core.data.ingest import read_snapshot
from flows.core.monitoring.error_analysis import correction_analysis
from flows.core.monitoring.retraining import (
    feedback_table,
    judge,
    require_feedback,
    split_fresh,
    training_table,
)
from flows.core.registry import artifacts as registry
from flows.core.registry.model import load_model
from flows.core.registry.release import make_champion
from flows.core.reports.feedback import feedback_report_html
from flows.core.reports.files import write_html
from flows.core.store.catalog import Catalog
from flows.train_flow import train


@flow(name="retrain")
def retrain(dataset: str | None = None, budget_s: float | None = None,
            seed: int | None = None, auto_promote: bool | None = None,
            min_gain: float | None = None, max_models: int | None = None) -> dict[str, Any]:
    """Train a challenger on the champion's data plus labelled predictions (a share kept
    fresh), compare both on the fresh rows, recommend (or, when configured, make) the
    promotion; write the retraining report."""
    settings = Settings()
    feedback = settings.feedback
    auto_promote = feedback.auto_promote if auto_promote is None else auto_promote
    min_gain = feedback.min_gain if min_gain is None else min_gain
    catalog = Catalog(settings.catalog_path)
    family = dataset or catalog.newest_family()
    champion = catalog.model(catalog.champion(family))
    card = registry.read_card(champion.artifact_path)
    seed = (card.seed if card.seed is not None else settings.search.seed) if seed is None \
        else seed
    labelled = catalog.labelled_predictions(catalog.family_versions(family))
    require_feedback(labelled, family)
    snapshot = read_snapshot(catalog.dataset(champion.dataset_hash), champion.target)
    table = feedback_table(labelled, snapshot.schema, champion.target)
    trained_on, fresh = split_fresh(table, feedback.fresh_share, seed)
    source = _write_training_table(settings, family,
                                   training_table(snapshot, trained_on, champion.target))
    summary = train(source=str(source), target=champion.target,
                    budget_s=budget_s if budget_s is not None else card.budget_s,
                    name=family, seed=seed, prefer=card.prefer or "balanced",
                    max_models=max_models if max_models is not None else card.max_models)
    challenger = catalog.model(summary.model_version)
    registry.save_fresh_rows(challenger.artifact_path, fresh)
    champion_model = load_model(champion.artifact_path)
    verdict = judge(champion_model, load_model(challenger.artifact_path), trained_on,
                    fresh, champion.target, settings.registry.promotion_margin, min_gain)
    promoted = auto_promote and verdict.may_auto_promote
    if promoted:
        make_champion(catalog, family, challenger.version, "auto-promote", "autopipe",
                      f"retrained on feedback; gain {verdict.gain:.4f} >= {min_gain}",
                      {"gate": verdict.as_dict()}, settings.releases_dir)
    result = {"dataset": family, "champion": champion.version,
              "challenger": challenger.version, "run_id": summary.run_id,
              "source": str(source), "promoted": promoted, "auto_promote": auto_promote,
              "feedback": {"labelled": labelled.height,
                           "corrected": int(labelled["corrected"].sum()),
                           "trained_on": trained_on.height},
              "verdict": verdict.as_dict(), "run_report": summary.report}
    catalog.audit("autopipe", "retrain", challenger.version,
                  {k: result[k] for k in ("champion", "promoted", "feedback")}
                  | {"recommendation": verdict.describe()})
    analysis = correction_analysis(labelled, champion_model.input_schema)
    report = write_html(settings.reports_dir / f"retrain-{summary.run_id}.html",
                        feedback_report_html(result, analysis))
    return result | {"report": str(report), "error_analysis": analysis}


def _write_training_table(settings: Settings, family: str, table: pl.DataFrame) -> Path:
    """Kept under the home: the new dataset version's lineage names this file."""
    path = (settings.root / "feedback"
            / f"{registry.model_version_slug(family)}-{uuid.uuid4().hex[:8]}.parquet")
    path.parent.mkdir(parents=True, exist_ok=True)
    table.write_parquet(path)
    return path

