"""The catalog's monitoring tables: the ingested prediction log and the alerts.

Part of the store (flows/core/store/catalog.py owns the connection, the lock and the schema); these
are the statements over ``prediction_log`` and ``alerts``, on a connection the store opened.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from flows.core.errors import AutopipeError
from flows.core.serving.prediction_log import LOGGED_COLUMNS
from flows.core.types import Alert

ALERT_STATES = ("open", "acknowledged", "resolved")


def raise_alert(conn: duckdb.DuckDBPyConnection, alert: Alert) -> str:
    """Open an alert, or count a repeat of the same unresolved problem (no flood); its id."""
    key = [alert.kind, alert.model_version, alert.slice, alert.feature, alert.statistic]
    found = conn.execute(
        "SELECT alert_id FROM alerts WHERE status != 'resolved' AND kind = $1 AND "
        "model_version IS NOT DISTINCT FROM $2 AND slice IS NOT DISTINCT FROM $3 AND "
        "feature IS NOT DISTINCT FROM $4 AND statistic IS NOT DISTINCT FROM $5", key).fetchall()
    if found:
        conn.execute("UPDATE alerts SET last_seen = now()::TIMESTAMP, count = count + 1, "
                     "value = $2, message = $3 WHERE alert_id = $1",
                     [found[0][0], alert.value, alert.message])
        return str(found[0][0])
    alert_id = uuid.uuid4().hex[:12]
    conn.execute(
        "INSERT INTO alerts VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', "
        "now()::TIMESTAMP, now()::TIMESTAMP, 1, NULL, '[]')",
        [alert_id, alert.kind, alert.severity, alert.model_version, alert.slice,
         alert.feature, alert.statistic, alert.value, alert.threshold, alert.message])
    return alert_id


def list_alerts(conn: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Unresolved first, then by severity and newest."""
    return conn.sql(
        "SELECT * FROM alerts ORDER BY status = 'resolved', "
        "CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, "
        "last_seen DESC").pl()


def change_alert(conn: duckdb.DuckDBPyConnection, alert_id: str, status: str | None,
                 actor: str, note: str | None, assignee: str | None) -> dict[str, Any]:
    """Move an alert to ``status``, assign it, add a note; the old and new state."""
    rows = conn.execute("SELECT status, assignee, notes FROM alerts WHERE alert_id = $1",
                        [alert_id]).fetchall()
    if not rows:
        raise AutopipeError(f"no alert {alert_id!r}", "list them with 'autopipe alerts'")
    old_status, old_assignee, notes = rows[0]
    if status is not None and status not in ALERT_STATES:
        raise AutopipeError(f"unknown alert state {status!r}",
                            f"use one of: {', '.join(ALERT_STATES)}")
    history = json.loads(notes) if notes else []
    if note:
        history.append({"at": datetime.now().isoformat(timespec="seconds"), "by": actor,
                        "note": note})
    conn.execute("UPDATE alerts SET status = $2, assignee = $3, notes = $4 "
                 "WHERE alert_id = $1",
                 [alert_id, status or old_status, assignee or old_assignee,
                  json.dumps(history)])
    return {"alert_id": alert_id, "from": old_status, "to": status or old_status,
            "assignee": assignee or old_assignee, "note": note}


def ingest_prediction_logs(conn: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> int:
    """Add the records of the service's log files not ingested yet (request id and index
    identify one); how many were new. Running it twice adds nothing."""
    if not files:
        return 0
    before = conn.execute("SELECT count(*) FROM prediction_log").fetchall()[0][0]
    listing = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
    columns = ", ".join(f'"{name}": \'{kind}\'' for name, kind in LOGGED_COLUMNS.items())
    conn.execute(
        "INSERT OR IGNORE INTO prediction_log "
        "SELECT request_id, \"index\", \"at\"::TIMESTAMP, model_version, slice, "
        "to_json(features), to_json(result), latency_ms "
        f"FROM read_json({listing}, format = 'newline_delimited', union_by_name = true, "
        f"columns = {{{columns}}})")
    after = conn.execute("SELECT count(*) FROM prediction_log").fetchall()[0][0]
    return int(after - before)


def logged_traffic(conn: duckdb.DuckDBPyConnection, since: datetime | None) -> pl.DataFrame:
    """Logged predictions (features and result as JSON text), optionally only the recent."""
    query = ("SELECT request_id, idx, logged_at, model_version, slice, features, result, "
             "latency_ms FROM prediction_log")
    params: list[Any] = []
    if since is not None:
        query += " WHERE logged_at >= $1"
        params.append(since)
    return conn.sql(query + " ORDER BY logged_at, request_id, idx", params=params).pl()
