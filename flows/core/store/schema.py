"""The catalog's schema: its tables, created and migrated in order on first connection.

A migration is a tuple of statements applied in one transaction; ``schema_version`` records
how many have been applied, so a catalog written by an older autopipe is brought up to date.
"""

from __future__ import annotations

import duckdb

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


def migrate(conn: duckdb.DuckDBPyConnection) -> None:
    """Apply the migrations this catalog has not seen yet."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    current = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()
    applied = int(current[0][0])
    for number, statements in enumerate(MIGRATIONS[applied:], start=applied + 1):
        conn.execute("BEGIN")
        for statement in statements:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version VALUES ($1)", [number])
        conn.execute("COMMIT")
