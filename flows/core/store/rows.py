"""Rows of the catalog's core tables as a run, a dataset or an alias change writes them, and
models read back: the SQL the Catalog's methods run inside their transactions."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from flows.core.store.monitoring import raise_alert
from flows.core.types import Alert, DatasetRef, ModelRecord, RunRecord, SliceRecord, Task


def insert_dataset(conn: duckdb.DuckDBPyConnection, ds: DatasetRef) -> bool:
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


def insert_profile(conn: duckdb.DuckDBPyConnection, dataset_hash: str, target: str | None,
                    profile: dict[str, Any], report_path: Path | None) -> None:
    conn.execute("DELETE FROM profiles WHERE dataset_hash = $1 AND target = $2",
                 [dataset_hash, target or ""])
    conn.execute("INSERT INTO profiles VALUES ($1, $2, now()::TIMESTAMP, $3, $4)",
                 [dataset_hash, target or "", str(report_path) if report_path else None,
                  json.dumps(profile, default=str)])


def insert_run(conn: duckdb.DuckDBPyConnection, r: RunRecord) -> None:
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


def insert_model(conn: duckdb.DuckDBPyConnection, m: ModelRecord) -> None:
    conn.execute(
        "INSERT INTO models (version, run_id, dataset_hash, target, task, learner, "
        "artifact_path, created_at, metrics, lineage, slice) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        [m.version, m.run_id, m.dataset_hash, m.target, m.task.value, m.learner,
         str(m.artifact_path), m.created_at, json.dumps(m.metrics),
         json.dumps(m.lineage, default=str), m.slice])


def insert_slice(conn: duckdb.DuckDBPyConnection, run_id: str, family: str,
                  result: SliceRecord, actor: str) -> None:
    """A slice's own model (if any), its result row, and its alias: the first model of a
    slice becomes its champion, later ones its challenger, as for the global model."""
    if result.model is not None:
        insert_model(conn, result.model)
        insert_audit(conn, actor, "register", result.model.version,
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
        insert_audit(conn, actor, "policy_breach", result.model.version,
                      {"slice": result.name, "policy": result.policy} | breach)
    if result.model is None:
        return
    first = current_alias(conn, family, result.name, "champion") is None
    record_alias(conn, AliasChange(
        family, result.name, "champion" if first else "challenger", result.champion_version,
        "register", actor, "better on the slice's held-out rows" + (
            "" if first else "; awaiting promotion")))


def current_alias(conn: duckdb.DuckDBPyConnection, family: str, slice_: str,
           alias: str) -> str | None:
    rows = conn.execute(
        "SELECT version FROM alias_events WHERE family = $1 AND slice = $2 AND alias = $3 "
        "ORDER BY occurred_at DESC LIMIT 1", [family, slice_, alias]).fetchall()
    return rows[0][0] if rows else None


def record_alias(conn: duckdb.DuckDBPyConnection, change: AliasChange,
                  detail: dict[str, Any] | None = None) -> None:
    replaced = current_alias(conn, change.family, change.slice, change.alias)
    conn.execute(
        "INSERT INTO alias_events VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [datetime.now(), change.family, change.slice, change.alias, change.version,
         change.action, replaced, change.actor, change.reason])
    insert_audit(conn, change.actor, change.action, change.version or replaced or "",
                  {"family": change.family, "slice": change.slice, "alias": change.alias,
                   "version": change.version, "replaced": replaced, "reason": change.reason}
                  | (detail or {}))


def insert_audit(conn: duckdb.DuckDBPyConnection, actor: str, action: str, subject: str,
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


def model_from_row(row: dict[str, Any]) -> ModelRecord:
    return ModelRecord(
        version=row["version"], run_id=row["run_id"], dataset_hash=row["dataset_hash"],
        target=row["target"], task=Task(row["task"]), learner=row["learner"],
        artifact_path=Path(row["artifact_path"]), created_at=row["created_at"],
        metrics=json.loads(row["metrics"]) if row["metrics"] else {},
        lineage=json.loads(row["lineage"]) if row.get("lineage") else {},
        slice=row.get("slice") or "")
