"""The catalog's feedback tables: true labels of logged predictions, and the review queue.

Part of the store (flows/core/store/catalog.py owns the connection, the lock and the schema); these
are the statements over ``labels`` and ``review_queue``, on a connection the store opened.
A label is keyed by the logged prediction it belongs to (request id and index); a newer label
of the same prediction replaces the older one, and the audit log keeps both.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from flows.core.errors import AutopipeError

DECISIONS = ("confirmed", "corrected", "skipped")


@dataclass(frozen=True)
class LabelRow:
    """The true label of one logged prediction, and where it came from."""

    request_id: str
    index: int
    label: Any
    source: str
    author: str
    note: str | None = None


@dataclass(frozen=True)
class QueueItem:
    """A logged prediction worth a person's look, and why."""

    request_id: str
    index: int
    reason: str
    priority: float
    confidence: float | None = None
    alert_id: str | None = None


def save_labels(conn: duckdb.DuckDBPyConnection, rows: Sequence[LabelRow]) -> int:
    """Store labels of logged predictions (a newer label replaces an older one); how many
    matched a logged prediction. Labels of unknown predictions are not stored."""
    conn.execute("CREATE TEMP TABLE incoming (request_id VARCHAR, idx INTEGER, label JSON, "
                 "source VARCHAR, author VARCHAR, note VARCHAR)")
    try:
        conn.executemany("INSERT INTO incoming VALUES ($1, $2, $3, $4, $5, $6)",
                         [[r.request_id, r.index, json.dumps(r.label), r.source, r.author,
                           r.note] for r in rows])
        matched = conn.execute(
            "INSERT OR REPLACE INTO labels SELECT i.request_id, i.idx, i.label, i.source, "
            "i.author, now()::TIMESTAMP, i.note FROM incoming i JOIN prediction_log p "
            "USING (request_id, idx)").fetchall()
        return int(matched[0][0]) if matched else 0
    finally:
        conn.execute("DROP TABLE incoming")


def logged_versions(conn: duckdb.DuckDBPyConnection,
                    keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """The model version that answered each logged prediction among ``keys`` (request id,
    index); predictions never logged are absent."""
    rows = conn.execute(
        "SELECT p.request_id, p.idx, p.model_version FROM prediction_log p JOIN "
        "(SELECT unnest($1::VARCHAR[]) AS request_id, unnest($2::INTEGER[]) AS idx) k "
        "USING (request_id, idx)", [[k[0] for k in keys], [k[1] for k in keys]]).fetchall()
    return {(request_id, index): version for request_id, index, version in rows}


def labelled_predictions(conn: duckdb.DuckDBPyConnection,
                         versions: Sequence[str] | None = None) -> pl.DataFrame:
    """Logged predictions that have a true label: features, result and label as JSON text,
    whether the label differs from the prediction, and the label's provenance."""
    query = ("SELECT p.request_id, p.idx, p.logged_at, p.model_version, p.slice, p.features, "
             "p.result, l.label, l.source, l.author, l.recorded_at, l.note, "
             "json_extract_string(l.label, '$') "
             "!= json_extract_string(p.result, '$.prediction') AS corrected "
             "FROM labels l JOIN prediction_log p USING (request_id, idx)")
    params: list[Any] = []
    if versions is not None:
        query += " WHERE p.model_version IN (SELECT unnest($1::VARCHAR[]))"
        params.append(list(versions))
    return conn.sql(query + " ORDER BY p.logged_at, p.request_id, p.idx", params=params).pl()


def unreviewed(conn: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Logged predictions neither labelled nor queued: their group, top class probability
    (None for regression) and a stable random draw in [0, 1) for quality-control samples."""
    return conn.sql(
        "SELECT p.request_id, p.idx, p.logged_at, p.model_version, p.slice, "
        "list_max(CAST(json_extract(p.result, '$.probabilities.*') AS DOUBLE[])) AS confidence, "
        "(hash(p.request_id || ':' || p.idx) % 1000000) / 1e6 AS draw "
        "FROM prediction_log p ANTI JOIN labels l USING (request_id, idx) "
        "ANTI JOIN review_queue q USING (request_id, idx) "
        "ORDER BY p.logged_at DESC, p.request_id, p.idx").pl()


def enqueue(conn: duckdb.DuckDBPyConnection, items: Sequence[QueueItem]) -> int:
    """Add predictions to the review queue (one entry per prediction); how many were new."""
    if not items:
        return 0
    before = conn.execute("SELECT count(*) FROM review_queue").fetchall()[0][0]
    conn.executemany(
        "INSERT OR IGNORE INTO review_queue (request_id, idx, reason, priority, confidence, "
        "alert_id, queued_at) VALUES ($1, $2, $3, $4, $5, $6, now()::TIMESTAMP)",
        [[i.request_id, i.index, i.reason, i.priority, i.confidence, i.alert_id]
         for i in items])
    return int(conn.execute("SELECT count(*) FROM review_queue").fetchall()[0][0] - before)


def review_queue(conn: duckdb.DuckDBPyConnection, pending_only: bool) -> pl.DataFrame:
    """Queue entries with their logged record and result, most urgent first."""
    query = ("SELECT q.request_id, q.idx, q.reason, q.priority, q.confidence, q.alert_id, "
             "q.queued_at, q.decision, q.label, q.author, q.decided_at, q.note, "
             "p.model_version, p.slice, p.features, p.result, p.logged_at "
             "FROM review_queue q JOIN prediction_log p USING (request_id, idx)")
    if pending_only:
        query += " WHERE q.decision IS NULL"
    return conn.sql(query + " ORDER BY q.decision IS NOT NULL, q.priority DESC, "
                            "p.logged_at DESC, q.request_id, q.idx").pl()


def decide(conn: duckdb.DuckDBPyConnection, request_id: str, index: int, decision: str,
           label: Any, author: str, note: str | None) -> dict[str, Any]:
    """Record a person's decision on a queued prediction: a confirmation or a correction is
    also the prediction's true label; a skip leaves it unlabelled."""
    if decision not in DECISIONS:
        raise AutopipeError(f"unknown review decision {decision!r}",
                            f"use one of: {', '.join(DECISIONS)}")
    rows = conn.execute(
        "SELECT q.decision, json_extract(p.result, '$.prediction') FROM review_queue q "
        "JOIN prediction_log p USING (request_id, idx) WHERE request_id = $1 AND idx = $2",
        [request_id, index]).fetchall()
    if not rows:
        raise AutopipeError(f"prediction {request_id}:{index} is not in the review queue",
                            "list the queue with 'autopipe review --list'")
    previous, predicted = rows[0]
    if decision == "corrected" and json.dumps(label) == json.dumps(json.loads(predicted)):
        raise AutopipeError(f"the correction {label!r} is what the model predicted",
                            "confirm the prediction instead, or give a different label")
    if decision == "confirmed":
        label = json.loads(predicted)
    stored = None if decision == "skipped" else json.dumps(label)
    conn.execute("UPDATE review_queue SET decision = $3, label = $4, author = $5, "
                 "decided_at = $6, note = $7 WHERE request_id = $1 AND idx = $2",
                 [request_id, index, decision, stored, author, datetime.now(), note])
    if stored is not None:
        save_labels(conn, [LabelRow(request_id, index, label, "review", author, note)])
    return {"request_id": request_id, "index": index, "from": previous, "to": decision,
            "label": label, "predicted": json.loads(predicted), "note": note}
