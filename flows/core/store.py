"""The DuckDB catalog: the only module that speaks SQL to ``autopipe.duckdb``.

DuckDB lets one process hold the file open for writing and then refuses every other process,
readers included. So nothing holds the catalog open: every access is one short connection
taken under an advisory ``flock`` on ``autopipe.duckdb.lock`` and closed at once. Long work
happens outside; its results are written in one transaction, so a crash leaves either all of
a run or none of it.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from flows.core.errors import AutopipeError, ModelNotFoundError
from flows.core.feedback_store import (
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
from flows.core.monitor_store import (
    change_alert,
    ingest_prediction_logs,
    list_alerts,
    logged_traffic,
    raise_alert,
)
from flows.core.types import Alert, DatasetRef, ModelRecord, RunRecord, SliceRecord, Task

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE datasets (
            content_hash VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, source VARCHAR NOT NULL,
            snapshot_path VARCHAR NOT NULL, rows BIGINT NOT NULL, columns INTEGER NOT NULL,
            created_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY, dataset_hash VARCHAR NOT NULL, target VARCHAR NOT NULL,
            task VARCHAR NOT NULL, status VARCHAR NOT NULL, budget_s DOUBLE, seed INTEGER,
            main_metric VARCHAR, model_version VARCHAR, started_at TIMESTAMP,
            finished_at TIMESTAMP, flow_run_id VARCHAR, exclusions JSON)""",
        """CREATE TABLE trials (
            run_id VARCHAR NOT NULL, number INTEGER NOT NULL, learner VARCHAR NOT NULL,
            config JSON, val_loss DOUBLE, trial_time_s DOUBLE, wall_clock_s DOUBLE)""",
        """CREATE TABLE evaluations (
            run_id VARCHAR NOT NULL, role VARCHAR NOT NULL, learner VARCHAR NOT NULL,
            metric VARCHAR NOT NULL, value DOUBLE)""",
        """CREATE TABLE models (
            version VARCHAR PRIMARY KEY, run_id VARCHAR NOT NULL, dataset_hash VARCHAR NOT NULL,
            target VARCHAR NOT NULL, task VARCHAR NOT NULL, learner VARCHAR NOT NULL,
            artifact_path VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, metrics JSON)""",
        """CREATE TABLE stage_resources (
            run_id VARCHAR NOT NULL, stage VARCHAR NOT NULL, started_at TIMESTAMP,
            wall_s DOUBLE, cpu_s DOUBLE, peak_rss_mb DOUBLE)""",
        """CREATE TABLE audit_log (
            occurred_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL, action VARCHAR NOT NULL,
            subject VARCHAR NOT NULL, detail JSON)""",
    ),
    (
        "ALTER TABLE datasets ADD COLUMN parent_hash VARCHAR",
        "ALTER TABLE datasets ADD COLUMN report JSON",
    ),
    (
        "ALTER TABLE models ADD COLUMN lineage JSON",
        # Append-only: an alias's value at time T is its last event before T.
        """CREATE TABLE alias_events (
            occurred_at TIMESTAMP NOT NULL, family VARCHAR NOT NULL, slice VARCHAR NOT NULL,
            alias VARCHAR NOT NULL, version VARCHAR, action VARCHAR NOT NULL,
            replaced VARCHAR, actor VARCHAR NOT NULL, reason VARCHAR)""",
        # Catalogs from before aliases: each dataset's newest model becomes its champion.
        """INSERT INTO alias_events
            SELECT now()::TIMESTAMP, d.name, '', 'champion', arg_max(m.version, m.created_at),
                   'migrate', NULL, 'autopipe', 'newest model when aliases were introduced'
            FROM models m JOIN datasets d ON d.content_hash = m.dataset_hash GROUP BY d.name""",
    ),
    (
        # One analysis per dataset version and target ('' for none); a newer one replaces it.
        """CREATE TABLE profiles (
            dataset_hash VARCHAR NOT NULL, target VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL, report_path VARCHAR, profile JSON NOT NULL,
            PRIMARY KEY (dataset_hash, target))""",
    ),
    (
        "ALTER TABLE models ADD COLUMN slice VARCHAR DEFAULT ''",
        """CREATE TABLE slice_results (
            run_id VARCHAR NOT NULL, slice VARCHAR NOT NULL, model_version VARCHAR,
            champion_version VARCHAR NOT NULL, reason VARCHAR, metrics JSON,
            policy VARCHAR, breaches JSON)""",
        # One open alert per problem: a repeat updates last_seen and count.
        """CREATE TABLE alerts (
            alert_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, severity VARCHAR NOT NULL,
            model_version VARCHAR, slice VARCHAR, feature VARCHAR, statistic VARCHAR,
            value DOUBLE, threshold DOUBLE, message VARCHAR NOT NULL,
            status VARCHAR NOT NULL, first_seen TIMESTAMP NOT NULL,
            last_seen TIMESTAMP NOT NULL, count INTEGER NOT NULL, assignee VARCHAR,
            notes JSON)""",
    ),
    (
        """CREATE TABLE prediction_log (
            request_id VARCHAR NOT NULL, idx INTEGER NOT NULL, logged_at TIMESTAMP NOT NULL,
            model_version VARCHAR, slice VARCHAR, features JSON, result JSON,
            latency_ms DOUBLE, PRIMARY KEY (request_id, idx))""",
    ),
    (
        # The true label of a logged prediction: from a labels file or a person's review.
        """CREATE TABLE labels (
            request_id VARCHAR NOT NULL, idx INTEGER NOT NULL, label JSON NOT NULL,
            source VARCHAR NOT NULL, author VARCHAR NOT NULL, recorded_at TIMESTAMP NOT NULL,
            note VARCHAR, PRIMARY KEY (request_id, idx))""",
        """CREATE TABLE review_queue (
            request_id VARCHAR NOT NULL, idx INTEGER NOT NULL, reason VARCHAR NOT NULL,
            priority DOUBLE NOT NULL, confidence DOUBLE, alert_id VARCHAR,
            queued_at TIMESTAMP NOT NULL, decision VARCHAR, label JSON, author VARCHAR,
            decided_at TIMESTAMP, note VARCHAR, PRIMARY KEY (request_id, idx))""",
    ),
)
_LATEST_PER_ALIAS = ("QUALIFY row_number() OVER (PARTITION BY family, slice, alias "
                     "ORDER BY occurred_at DESC) = 1")
"""An alias's current value is its newest event (a cleared alias has a NULL version)."""
GLOBAL_SLICE = ""
"""The slice name of a family's global model."""


class Catalog:
    """Short, locked connections to the catalog file, and the queries over it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One short connection under the file lock; migrates the schema on first use."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with lock_path.open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                conn = duckdb.connect(str(self.path))
                try:
                    _migrate(conn)
                    yield conn
                finally:
                    conn.close()
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    # -- writes ---------------------------------------------------------------------------

    def save_dataset(self, dataset: DatasetRef, actor: str = "autopipe") -> None:
        """Record an ingested dataset version (nothing happens if it is known already)."""
        with self.connect() as conn:
            conn.execute("BEGIN")
            try:
                if _insert_dataset(conn, dataset):
                    _insert_audit(conn, actor, "ingest", dataset.content_hash,
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
                _insert_dataset(conn, record.dataset)
                _insert_run(conn, record)
                if record.profile is not None:
                    _insert_profile(conn, record.dataset.content_hash, record.target,
                                    record.profile, record.profile_report)
                _insert_model(conn, record.model)
                _insert_audit(conn, actor, "register", record.model.version,
                              {"run_id": record.run_id})
                family = record.dataset.name
                first = _alias(conn, family, GLOBAL_SLICE, "champion") is None
                _record_alias(conn, AliasChange(
                    family, GLOBAL_SLICE, "champion" if first else "challenger",
                    record.model.version, "register", actor,
                    "first model of this dataset" if first else "new model awaiting promotion"))
                for result in record.slices:
                    _insert_slice(conn, record.run_id, family, result, actor)
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
                _insert_dataset(conn, dataset)
                _insert_profile(conn, dataset.content_hash, target, profile, report_path)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def change_alias(self, change: AliasChange, detail: dict[str, Any] | None = None) -> None:
        """Point an alias at a version (or clear it), with its event and audit entry."""
        with self.connect() as conn:
            conn.execute("BEGIN")
            try:
                _record_alias(conn, change, detail)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def audit(self, actor: str, action: str, subject: str, detail: dict[str, Any]) -> None:
        """An audit entry for something done outside the other writes (a retraining)."""
        with self.connect() as conn:
            _insert_audit(conn, actor, action, subject, detail)

    # -- reads ----------------------------------------------------------------------------

    def aliases(self, family: str) -> dict[tuple[str, str], str]:
        """(slice, alias) -> version, as they stand now."""
        with self.connect() as conn:
            rows = conn.execute(
                f"SELECT slice, alias, version FROM alias_events WHERE family = $1 "
                f"{_LATEST_PER_ALIAS}", [family]).fetchall()
        return {(slice_, alias): version for slice_, alias, version in rows if version}

    def champion(self, family: str | None = None) -> str:
        """The global champion of a dataset (default: the newest model's dataset)."""
        family = family or self.newest_family()
        version = self.aliases(family).get((GLOBAL_SLICE, "champion"))
        if version is None:
            raise ModelNotFoundError(f"dataset {family!r} has no champion model",
                                     "list the models with 'autopipe models'")
        return version

    def alias_history(self, family: str) -> pl.DataFrame:
        with self.connect() as conn:
            return conn.sql("SELECT * FROM alias_events WHERE family = $1 ORDER BY occurred_at",
                            params=[family]).pl()

    def alias_at(self, family: str, slice_: str, alias: str, when: datetime) -> str | None:
        """Which version the alias pointed at, at time ``when``."""
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT version FROM alias_events WHERE family = $1 AND slice = $2 AND "
                "alias = $3 AND occurred_at <= $4 ORDER BY occurred_at DESC LIMIT 1",
                [family, slice_, alias, when]).fetchall()
        return rows[0][0] if rows else None

    def rollback_target(self, family: str, slice_: str) -> str | None:
        """The champion before the current one, skipping versions already rolled back from."""
        history = self.alias_history(family).filter(slice=slice_, alias="champion")
        if history.is_empty():
            return None
        current = history["version"][-1]
        rolled_back = set(history.filter(action="rollback")["replaced"].drop_nulls())
        for version in reversed(history["version"].to_list()):
            if version and version != current and version not in rolled_back:
                return str(version)
        return None

    def family_of(self, version: str) -> str:
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT d.name FROM models m JOIN datasets d ON d.content_hash = m.dataset_hash "
                "WHERE m.version = $1", [version]).fetchall()
        if not rows:
            raise ModelNotFoundError(f"no model version {version!r} in the catalog",
                                     "list the versions with 'autopipe models'")
        return str(rows[0][0])

    def newest_family(self) -> str:
        """The dataset of the newest model: what serving and scoring default to."""
        return self.family_of(self.model().version)

    def families(self) -> list[str]:
        with self.connect() as conn:
            rows = conn.execute("SELECT DISTINCT family FROM alias_events ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    def list_models(self) -> pl.DataFrame:
        """Every model version, newest first, with its dataset, main metric and aliases."""
        query = f"""
            WITH current AS (
                SELECT family, slice, alias, version FROM alias_events {_LATEST_PER_ALIAS})
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
                _insert_audit(conn, actor, f"alert_{change['to']}", alert_id, change)
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
                _insert_audit(conn, actor, "labels", rows[0].source if rows else "",
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

    def family_versions(self, family: str) -> list[str]:
        """Every model version trained on any version of the dataset ``family``."""
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT m.version FROM models m JOIN datasets d ON d.content_hash = "
                "m.dataset_hash WHERE d.name = $1 ORDER BY m.created_at", [family]).fetchall()
        return [r[0] for r in rows]

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
                _insert_audit(conn, author, f"review_{decision}", f"{request_id}:{index}",
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
        return _model_from_row(rows[0])


def _migrate(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    current = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()
    applied = int(current[0][0])
    for number, statements in enumerate(MIGRATIONS[applied:], start=applied + 1):
        conn.execute("BEGIN")
        for statement in statements:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version VALUES ($1)", [number])
        conn.execute("COMMIT")


def _insert_dataset(conn: duckdb.DuckDBPyConnection, ds: DatasetRef) -> bool:
    """Insert a dataset version linked to the newest earlier version of the same name;
    False when this content is known already."""
    known = conn.execute("SELECT count(*) FROM datasets WHERE content_hash = $1",
                         [ds.content_hash]).fetchall()[0][0]
    if known:
        return False
    parent = conn.execute(
        "SELECT content_hash FROM datasets WHERE name = $1 ORDER BY created_at DESC LIMIT 1",
        [ds.name]).fetchall()
    conn.execute(
        "INSERT INTO datasets (content_hash, name, source, snapshot_path, rows, columns, "
        "created_at, parent_hash, report) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [ds.content_hash, ds.name, ds.source, str(ds.snapshot_path), ds.rows, ds.columns,
         ds.created_at, parent[0][0] if parent else None, json.dumps(ds.report, default=str)])
    return True


def _insert_profile(conn: duckdb.DuckDBPyConnection, dataset_hash: str, target: str | None,
                    profile: dict[str, Any], report_path: Path | None) -> None:
    conn.execute("DELETE FROM profiles WHERE dataset_hash = $1 AND target = $2",
                 [dataset_hash, target or ""])
    conn.execute("INSERT INTO profiles VALUES ($1, $2, now()::TIMESTAMP, $3, $4)",
                 [dataset_hash, target or "", str(report_path) if report_path else None,
                  json.dumps(profile, default=str)])


def _insert_run(conn: duckdb.DuckDBPyConnection, r: RunRecord) -> None:
    conn.execute(
        "INSERT INTO runs VALUES ($1, $2, $3, $4, 'completed', $5, $6, $7, $8, $9, $10, $11, $12)",
        [r.run_id, r.dataset.content_hash, r.target, r.task.value, r.budget_s, r.seed,
         r.main_metric, r.model.version, r.started_at, r.finished_at, r.flow_run_id,
         json.dumps([asdict(e) for e in r.exclusions])])
    if r.trials:
        conn.executemany(
            "INSERT INTO trials VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [[r.run_id, t.number, t.learner, json.dumps(t.config, default=str), t.val_loss,
              t.trial_time_s, t.wall_clock_s] for t in r.trials])
    conn.executemany(
        "INSERT INTO evaluations VALUES ($1, $2, $3, $4, $5)",
        [[r.run_id, e.role, e.learner, metric, value]
         for e in r.evaluations for metric, value in e.metrics.items()])
    conn.executemany(
        "INSERT INTO stage_resources VALUES ($1, $2, $3, $4, $5, $6)",
        [[r.run_id, s.stage, s.started_at, s.wall_s, s.cpu_s, s.peak_rss_mb] for s in r.stages])


def _insert_model(conn: duckdb.DuckDBPyConnection, m: ModelRecord) -> None:
    conn.execute(
        "INSERT INTO models (version, run_id, dataset_hash, target, task, learner, "
        "artifact_path, created_at, metrics, lineage, slice) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        [m.version, m.run_id, m.dataset_hash, m.target, m.task.value, m.learner,
         str(m.artifact_path), m.created_at, json.dumps(m.metrics),
         json.dumps(m.lineage, default=str), m.slice])


def _insert_slice(conn: duckdb.DuckDBPyConnection, run_id: str, family: str,
                  result: SliceRecord, actor: str) -> None:
    """A slice's own model (if any), its result row, and its alias: the first model of a
    slice becomes its champion, later ones its challenger, as for the global model."""
    if result.model is not None:
        _insert_model(conn, result.model)
        _insert_audit(conn, actor, "register", result.model.version,
                      {"run_id": run_id, "slice": result.name})
    conn.execute("INSERT INTO slice_results VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                 [run_id, result.name, result.model.version if result.model else None,
                  result.champion_version, result.reason, json.dumps(result.metrics),
                  result.policy, json.dumps(result.breaches)])
    for breach in result.breaches:
        assert result.model is not None  # only a trained slice model can break its policy
        raise_alert(conn, Alert(
            kind="policy_breach", severity="critical", model_version=result.model.version,
            slice=result.name, feature=breach.get("feature"), statistic=breach["rule"],
            value=breach["value"], threshold=breach["threshold"],
            message=f"{result.model.version} breaks policy {result.policy!r}: "
                    f"{breach['message']}; not promoted"))
        _insert_audit(conn, actor, "policy_breach", result.model.version,
                      {"slice": result.name, "policy": result.policy} | breach)
    if result.model is None:
        return
    first = _alias(conn, family, result.name, "champion") is None
    _record_alias(conn, AliasChange(
        family, result.name, "champion" if first else "challenger", result.champion_version,
        "register", actor, "better on the slice's held-out rows" + (
            "" if first else "; awaiting promotion")))


def _alias(conn: duckdb.DuckDBPyConnection, family: str, slice_: str,
           alias: str) -> str | None:
    rows = conn.execute(
        "SELECT version FROM alias_events WHERE family = $1 AND slice = $2 AND alias = $3 "
        "ORDER BY occurred_at DESC LIMIT 1", [family, slice_, alias]).fetchall()
    return rows[0][0] if rows else None


def _record_alias(conn: duckdb.DuckDBPyConnection, change: AliasChange,
                  detail: dict[str, Any] | None = None) -> None:
    replaced = _alias(conn, change.family, change.slice, change.alias)
    conn.execute(
        "INSERT INTO alias_events VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [datetime.now(), change.family, change.slice, change.alias, change.version,
         change.action, replaced, change.actor, change.reason])
    _insert_audit(conn, change.actor, change.action, change.version or replaced or "",
                  {"family": change.family, "slice": change.slice, "alias": change.alias,
                   "version": change.version, "replaced": replaced, "reason": change.reason}
                  | (detail or {}))


def _insert_audit(conn: duckdb.DuckDBPyConnection, actor: str, action: str, subject: str,
                  detail: dict[str, Any]) -> None:
    conn.execute("INSERT INTO audit_log VALUES ($1, $2, $3, $4, $5)",
                 [datetime.now(), actor, action, subject, json.dumps(detail)])


@dataclass(frozen=True)
class AliasChange:
    """One move of an alias: who pointed which alias of which slice at what, and why."""

    family: str
    slice: str
    alias: str
    version: str | None
    action: str
    actor: str
    reason: str | None = None


def _model_from_row(row: dict[str, Any]) -> ModelRecord:
    return ModelRecord(
        version=row["version"], run_id=row["run_id"], dataset_hash=row["dataset_hash"],
        target=row["target"], task=Task(row["task"]), learner=row["learner"],
        artifact_path=Path(row["artifact_path"]), created_at=row["created_at"],
        metrics=json.loads(row["metrics"]) if row["metrics"] else {},
        lineage=json.loads(row["lineage"]) if row.get("lineage") else {},
        slice=row.get("slice") or "")
