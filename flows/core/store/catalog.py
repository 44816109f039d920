"""The DuckDB catalog: what the rest of autopipe calls to write and read ``autopipe.duckdb``.

Only the store package speaks SQL to it (connection.py: short connections under a file lock;
schema.py: the tables; rows.py, aliases.py, monitoring.py, feedback.py: the queries by table
group). Long work happens outside; its results are written in one transaction, so a crash
leaves either all of a run or none of it.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from flows.core.errors import AutopipeError, ModelNotFoundError
from flows.core.store.aliases import LATEST_PER_ALIAS, AliasQueries
from flows.core.store.feedback import (
    LabelRow,
    QueueItem,
    decide,
    enqueue,
    labelled_predictions,
    logged_versions,
    review_queue,
    save_labels,
    unreviewed,
)
from flows.core.store.monitoring import (
    change_alert,
    ingest_prediction_logs,
    list_alerts,
    logged_traffic,
    raise_alert,
)
from flows.core.store.rows import (
    AliasChange,
    current_alias,
    insert_audit,
    insert_dataset,
    insert_model,
    insert_profile,
    insert_run,
    insert_slice,
    model_from_row,
    record_alias,
)
from flows.core.types import Alert, DatasetRef, ModelRecord, RunRecord

GLOBAL_SLICE = ""
"""The slice name of a family's global model."""


class Catalog(AliasQueries):
    """Short, locked connections to the catalog file, and the queries over it."""

    # -- writes ---------------------------------------------------------------------------

    def save_dataset(self, dataset: DatasetRef, actor: str = "autopipe") -> None:
        """Record an ingested dataset version (nothing happens if it is known already)."""
        with self.connect() as conn:
            conn.execute("BEGIN")
            try:
                if insert_dataset(conn, dataset):
                    insert_audit(conn, actor, "ingest", dataset.content_hash,
                                  {"name": dataset.name, "source": dataset.source})
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def save_run(self, record: RunRecord, actor: str = "autopipe") -> None:
        """Write a finished run with its dataset, trials, metrics, resources and model."""
        with self.connect() as conn:
            conn.execute("BEGIN")
            try:
                insert_dataset(conn, record.dataset)
                insert_run(conn, record)
                if record.profile is not None:
                    insert_profile(conn, record.dataset.content_hash, record.target,
                                    record.profile, record.profile_report)
                insert_model(conn, record.model)
                insert_audit(conn, actor, "register", record.model.version,
                              {"run_id": record.run_id})
                family = record.dataset.name
                first = current_alias(conn, family, GLOBAL_SLICE, "champion") is None
                record_alias(conn, AliasChange(
                    family, GLOBAL_SLICE, "champion" if first else "challenger",
                    record.model.version, "register", actor,
                    "first model of this dataset" if first else "new model awaiting promotion"))
                for result in record.slices:
                    insert_slice(conn, record.run_id, family, result, actor)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def save_profile(self, dataset: DatasetRef, target: str | None, profile: dict[str, Any],
                     report_path: Path | None) -> None:
        """Record a dataset version (if new) and its analysis, replacing an older analysis
        of the same version and target."""
        with self.connect() as conn:
            conn.execute("BEGIN")
            try:
                insert_dataset(conn, dataset)
                insert_profile(conn, dataset.content_hash, target, profile, report_path)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def audit(self, actor: str, action: str, subject: str, detail: dict[str, Any]) -> None:
        """An audit entry for something done outside the other writes (a retraining)."""
        with self.connect() as conn:
            insert_audit(conn, actor, action, subject, detail)

    # -- reads ----------------------------------------------------------------------------

    def champion(self, family: str | None = None) -> str:
        """The global champion of a dataset (default: the newest model's dataset)."""
        family = family or self.newest_family()
        version = self.aliases(family).get((GLOBAL_SLICE, "champion"))
        if version is None:
            raise ModelNotFoundError(f"dataset {family!r} has no champion model",
                                     "list the models with 'autopipe models'")
        return version

    def newest_family(self) -> str:
        """The dataset of the newest model: what serving and scoring default to."""
        return self.family_of(self.model().version)

    def list_models(self) -> pl.DataFrame:
        """Every model version, newest first, with its dataset, main metric and aliases."""
        query = f"""
            WITH current AS (
                SELECT family, slice, alias, version FROM alias_events {LATEST_PER_ALIAS})
            SELECT m.version, d.name AS dataset, m.target, m.task, m.learner, r.main_metric,
                   CAST(json_extract(m.metrics, '$.' || r.main_metric) AS DOUBLE) AS score,
                   coalesce(string_agg(CASE WHEN c.slice = '' THEN c.alias
                                       ELSE c.alias || '@' || c.slice END, ', '
                                       ORDER BY c.alias), '') AS aliases,
                   m.created_at, m.lineage
            FROM models m JOIN datasets d ON d.content_hash = m.dataset_hash
            JOIN runs r ON r.run_id = m.run_id
            LEFT JOIN current c ON c.version = m.version AND c.family = d.name
            GROUP BY ALL ORDER BY m.created_at DESC"""
        with self.connect() as conn:
            return conn.sql(query).pl()

    def run_of_flow_run(self, flow_run_id: str) -> str | None:
        """The run a Prefect flow run recorded, if it got that far."""
        with self.connect() as conn:
            row = conn.execute("SELECT run_id FROM runs WHERE flow_run_id = ?",
                               [flow_run_id]).fetchone()
        return str(row[0]) if row else None

    def list_runs(self) -> pl.DataFrame:
        """Runs, newest first, with their dataset name and main metric of model and baseline."""
        query = """
            SELECT r.run_id, d.name AS dataset, r.target, r.task, r.status, r.main_metric,
                   m.learner AS learner, r.model_version,
                   (SELECT value FROM evaluations e WHERE e.run_id = r.run_id
                      AND e.role = 'model' AND e.metric = r.main_metric) AS model_score,
                   (SELECT max(value) FROM evaluations e WHERE e.run_id = r.run_id
                      AND e.role LIKE 'baseline%' AND e.metric = r.main_metric) AS baseline_max,
                   (SELECT min(value) FROM evaluations e WHERE e.run_id = r.run_id
                      AND e.role LIKE 'baseline%' AND e.metric = r.main_metric) AS baseline_min,
                   r.budget_s, r.seed, r.started_at,
                   epoch(r.finished_at) - epoch(r.started_at) AS duration_s
            FROM runs r JOIN datasets d ON d.content_hash = r.dataset_hash
            LEFT JOIN models m ON m.version = r.model_version
            ORDER BY r.started_at DESC"""
        with self.connect() as conn:
            return conn.sql(query).pl()

    def evaluations(self, run_id: str) -> pl.DataFrame:
        """Held-out metrics of the run's model and baselines, one row per role and metric."""
        with self.connect() as conn:
            return conn.sql(
                "SELECT role, learner, metric, value FROM evaluations WHERE run_id = $1 "
                "ORDER BY role, metric", params=[run_id]).pl()

    def alerts(self) -> pl.DataFrame:
        """Alerts: unresolved first, then by severity, newest first."""
        with self.connect() as conn:
            return list_alerts(conn)

    def raise_alerts(self, alerts: list[Alert]) -> list[str]:
        """Open (or count repeats of) alerts in one transaction; their ids."""
        with self.connect() as conn:
            return [raise_alert(conn, alert) for alert in alerts]

    def change_alert(self, alert_id: str, status: str | None = None, note: str | None = None,
                     assignee: str | None = None, actor: str = "autopipe") -> dict[str, Any]:
        """Acknowledge, resolve, assign or annotate an alert, with its audit entry."""
        with self.connect() as conn:
            conn.execute("BEGIN")
            try:
                change = change_alert(conn, alert_id, status, actor, note, assignee)
                insert_audit(conn, actor, f"alert_{change['to']}", alert_id, change)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return change

    def ingest_prediction_logs(self, files: list[Path]) -> int:
        with self.connect() as conn:
            return ingest_prediction_logs(conn, files)

    def logged_traffic(self, since: datetime | None = None) -> pl.DataFrame:
        with self.connect() as conn:
            return logged_traffic(conn, since)

    def save_labels(self, rows: list[LabelRow], actor: str) -> int:
        """Store true labels of logged predictions, audited; how many matched one."""
        with self.connect() as conn:
            conn.execute("BEGIN")
            try:
                matched = save_labels(conn, rows)
                insert_audit(conn, actor, "labels", rows[0].source if rows else "",
                              {"received": len(rows), "matched": matched})
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return matched

    def logged_versions(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], str]:
        with self.connect() as conn:
            return logged_versions(conn, keys)

    def labelled_predictions(self, versions: list[str] | None = None) -> pl.DataFrame:
        with self.connect() as conn:
            return labelled_predictions(conn, versions)

    def unreviewed(self) -> pl.DataFrame:
        with self.connect() as conn:
            return unreviewed(conn)

    def enqueue_reviews(self, items: list[QueueItem]) -> int:
        with self.connect() as conn:
            return enqueue(conn, items)

    def review_queue(self, pending_only: bool = True) -> pl.DataFrame:
        with self.connect() as conn:
            return review_queue(conn, pending_only)

    def decide_review(self, request_id: str, index: int, decision: str, label: Any = None,
                      author: str = "autopipe", note: str | None = None) -> dict[str, Any]:
        """Confirm, correct or skip a queued prediction, with its audit entry."""
        with self.connect() as conn:
            conn.execute("BEGIN")
            try:
                change = decide(conn, request_id, index, decision, label, author, note)
                insert_audit(conn, author, f"review_{decision}", f"{request_id}:{index}",
                              change)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return change

    def audit_log(self) -> pl.DataFrame:
        """Every audited action, oldest first."""
        with self.connect() as conn:
            return conn.sql("SELECT * FROM audit_log ORDER BY occurred_at").pl()

    def slice_results(self, run_id: str) -> pl.DataFrame:
        """Per slice of a run: its own model (if any), the version serving it, why, and the
        test metrics of both models on its held-out rows (JSON)."""
        with self.connect() as conn:
            return conn.sql(
                "SELECT slice, model_version, champion_version, reason, metrics, policy, "
                "breaches "
                "FROM slice_results WHERE run_id = $1 ORDER BY slice", params=[run_id]).pl()

    def stage_resources(self, run_id: str) -> pl.DataFrame:
        with self.connect() as conn:
            return conn.sql(
                "SELECT stage, started_at, wall_s, cpu_s, peak_rss_mb FROM stage_resources "
                "WHERE run_id = $1 ORDER BY started_at", params=[run_id]).pl()

    def trials(self, run_id: str) -> pl.DataFrame:
        with self.connect() as conn:
            return conn.sql(
                "SELECT number, learner, val_loss, trial_time_s, wall_clock_s, config "
                "FROM trials WHERE run_id = $1 ORDER BY number", params=[run_id]).pl()

    def datasets(self) -> pl.DataFrame:
        """Dataset versions, newest first, with the version each one replaced."""
        with self.connect() as conn:
            return conn.sql(
                "SELECT name, content_hash, rows, columns, created_at, parent_hash, source, "
                "snapshot_path, report FROM datasets ORDER BY created_at DESC").pl()

    def dataset(self, content_hash: str) -> DatasetRef:
        """One dataset version, with its ingest report."""
        with self.connect() as conn:
            rows = conn.sql("SELECT name, content_hash, snapshot_path, source, rows, columns, "
                            "created_at, report FROM datasets WHERE content_hash = $1",
                            params=[content_hash]).pl().to_dicts()
        if not rows:
            raise AutopipeError(f"no dataset version {content_hash[:16]} in the catalog",
                                "list the versions with 'autopipe datasets'")
        row = rows[0]
        return DatasetRef(**row | {"snapshot_path": Path(row["snapshot_path"]),
                                   "report": json.loads(row["report"] or "{}")})

    def profile(self, dataset_hash: str, target: str | None = None) -> dict[str, Any] | None:
        """The analysis of a dataset version for ``target`` (any target's when None), with
        ``report_path`` added; None when it was never analysed."""
        query = "SELECT profile, report_path FROM profiles WHERE dataset_hash = $1"
        params: list[Any] = [dataset_hash]
        if target is not None:
            query += " AND target = $2"
            params.append(target)
        with self.connect() as conn:
            rows = conn.execute(query + " ORDER BY created_at DESC LIMIT 1", params).fetchall()
        if not rows:
            return None
        return json.loads(rows[0][0]) | {"report_path": rows[0][1]}

    def table_counts(self) -> dict[str, int]:
        """Row count of every catalog table: what tests use to prove a failure wrote nothing."""
        tables = ("datasets", "runs", "trials", "evaluations", "models", "stage_resources",
                  "audit_log", "profiles", "slice_results", "alerts", "prediction_log", "labels",
                  "review_queue")
        with self.connect() as conn:
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                    for t in tables}

    def model(self, version: str | None = None) -> ModelRecord:
        """The named model version, or the newest one when no version is given."""
        query = "SELECT * FROM models"
        params: list[Any] = []
        if version:
            query += " WHERE version = $1"
            params.append(version)
        query += " ORDER BY created_at DESC LIMIT 1"
        with self.connect() as conn:
            rows = conn.sql(query, params=params).pl().to_dicts()
        if not rows:
            if version:
                raise ModelNotFoundError(
                    f"no model version {version!r} in the catalog",
                    "list the versions with 'autopipe runs'")
            raise ModelNotFoundError(
                "no model has been registered yet",
                "train one first: autopipe run PATH --target COLUMN")
        return model_from_row(rows[0])
