"""Cleaning inside DuckDB: missing-value tokens, trimmed text, types, exact duplicates.

All of it is SQL over the ``raw`` relation, so a table larger than memory is cleaned out of
core. Every decision is counted in the report the user sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

MISSING_TOKENS = ("", "?", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "-")
TRUE_TOKENS = ("true", "yes", "y", "t")
FALSE_TOKENS = ("false", "no", "n", "f")


@dataclass(frozen=True)
class ColumnReport:
    name: str
    dtype: str
    missing: int
    missing_tokens: int = 0
    inferred_from_text: str | None = None


@dataclass(frozen=True)
class CleanReport:
    rows_read: int
    rows: int
    duplicates_dropped: int
    columns: tuple[ColumnReport, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {"rows_read": self.rows_read, "rows": self.rows,
                "duplicates_dropped": self.duplicates_dropped,
                "columns": [vars(c) for c in self.columns], "notes": list(self.notes)}


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def clean(conn: duckdb.DuckDBPyConnection, deduplicate: bool = True) -> CleanReport:
    """Build table ``clean`` from ``raw``: tokens to NULL, text trimmed, numbers, booleans and
    dates stored as text typed, exact duplicate rows dropped (first occurrence kept, in order)."""
    schema = [(d[0], str(d[1])) for d in conn.sql("SELECT * FROM raw LIMIT 0").description]
    text_columns = [name for name, dtype in schema if dtype == "VARCHAR"]
    tokens = ", ".join("'" + t.replace("'", "''") + "'" for t in MISSING_TOKENS)
    trimmed = {
        name: f"CASE WHEN trim({q(name)}) IN ({tokens}) THEN NULL ELSE trim({q(name)}) END"
        for name in text_columns}
    token_counts = _token_counts(conn, text_columns, tokens)
    casts = _infer_text_types(conn, trimmed)
    select = ", ".join(
        f"{_typed(trimmed[name], casts.get(name))} AS {q(name)}" if name in trimmed
        else q(name) for name, _ in schema)
    conn.execute(f"CREATE OR REPLACE TABLE cleaned AS SELECT {select} FROM raw")
    rows_read = _count(conn, "cleaned")
    if deduplicate:
        conn.execute(
            "CREATE OR REPLACE TABLE clean AS SELECT * EXCLUDE (__first) FROM ("
            "SELECT *, min(rowid) AS __first FROM cleaned GROUP BY ALL) ORDER BY __first")
    else:
        conn.execute("CREATE OR REPLACE TABLE clean AS SELECT * FROM cleaned")
    conn.execute("DROP TABLE cleaned")
    rows = _count(conn, "clean")
    final = [(d[0], str(d[1])) for d in conn.sql("SELECT * FROM clean LIMIT 0").description]
    missing = _missing_counts(conn, [name for name, _ in final])
    columns = tuple(
        ColumnReport(name=name, dtype=dtype, missing=missing[name],
                     missing_tokens=token_counts.get(name, 0),
                     inferred_from_text=casts.get(name))
        for name, dtype in final)
    return CleanReport(rows_read=rows_read, rows=rows, duplicates_dropped=rows_read - rows,
                       columns=columns)


def _count(conn: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def _token_counts(conn: duckdb.DuckDBPyConnection, columns: list[str],
                  tokens: str) -> dict[str, int]:
    """How many values of each text column were missing-value tokens (not real NULLs)."""
    if not columns:
        return {}
    parts = ", ".join(f"count(*) FILTER (WHERE trim({q(c)}) IN ({tokens}))" for c in columns)
    values = conn.execute(f"SELECT {parts} FROM raw").fetchall()[0]
    return {c: int(v) for c, v in zip(columns, values, strict=True)}


def _infer_text_types(conn: duckdb.DuckDBPyConnection,
                      trimmed: dict[str, str]) -> dict[str, str]:
    """For each text column, the SQL type every one of its values parses as, if any."""
    if not trimmed:
        return {}
    true_false = ", ".join(f"'{t}'" for t in TRUE_TOKENS + FALSE_TOKENS)
    parts = []
    for expr in trimmed.values():
        parts += [
            f"count({expr})",
            # TRY_CAST('3.5' AS BIGINT) rounds to 4: integers must look like integers.
            f"count(TRY_CAST({expr} AS BIGINT)) FILTER "
            f"(WHERE regexp_full_match({expr}, '[+-]?[0-9]+'))",
            f"count(TRY_CAST({expr} AS DOUBLE))",
            f"count(*) FILTER (WHERE lower({expr}) IN ({true_false}))",
            f"count(TRY_CAST({expr} AS DATE)) FILTER (WHERE length({expr}) <= 10)",
            f"count(TRY_CAST({expr} AS TIMESTAMP))",
        ]
    values = conn.execute(f"SELECT {', '.join(parts)} FROM raw").fetchall()[0]
    casts: dict[str, str] = {}
    for index, name in enumerate(trimmed):
        present, as_int, as_float, as_bool, as_date, as_ts = values[index * 6:index * 6 + 6]
        if present == 0:
            continue
        for sql_type, parsed in (("BIGINT", as_int), ("DOUBLE", as_float),
                                 ("BOOLEAN", as_bool), ("DATE", as_date),
                                 ("TIMESTAMP", as_ts)):
            if parsed == present:
                casts[name] = sql_type
                break
    return casts


def _typed(expr: str, sql_type: str | None) -> str:
    if sql_type is None:
        return expr
    if sql_type == "BOOLEAN":
        true_tokens = ", ".join(f"'{t}'" for t in TRUE_TOKENS)
        return f"(lower({expr}) IN ({true_tokens}))"
    return f"CAST({expr} AS {sql_type})"


def _missing_counts(conn: duckdb.DuckDBPyConnection, columns: list[str]) -> dict[str, int]:
    parts = ", ".join(f"count(*) - count({q(c)})" for c in columns)
    values = conn.execute(f"SELECT {parts} FROM clean").fetchall()[0]
    return {c: int(v) for c, v in zip(columns, values, strict=True)}
