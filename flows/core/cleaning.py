"""Cleaning inside DuckDB: missing-value tokens, trimmed text, types, exact duplicates.

The source is read once, streaming: one ``COPY (SELECT cleaned columns FROM raw)`` writes
the snapshot, so a table larger than memory is cleaned out of core without being held in
DuckDB first. Counts, distinct values and repeated rows then come from the snapshot's
columns, which DuckDB scans far faster than it parses text; only a table that has exact
duplicate rows is written a second time. Every decision is counted in the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

MISSING_TOKENS = ("", "?", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "-")
TRUE_TOKENS = ("true", "yes", "y", "t")
FALSE_TOKENS = ("false", "no", "n", "f")
CANDIDATE_ROWS = 20_000


def clean_value(value: Any) -> Any:
    """What ingest does to one text value (trimmed; a missing-value token becomes None), for
    the records that reach a model later: served, logged, labelled. Other values pass."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    return None if text in MISSING_TOKENS else text


@dataclass(frozen=True)
class ColumnReport:
    name: str
    dtype: str
    missing: int
    """Missing values after cleaning, missing-value tokens included."""
    inferred_from_text: str | None = None
    distinct: int = 0
    """Approximate (HyperLogLog) count of distinct present values."""
    flag: str | None = None
    """'all missing', 'constant' or 'unique per row': columns the model will likely skip."""


@dataclass(frozen=True)
class CleanReport:
    rows_read: int
    rows: int
    duplicates_dropped: int
    columns: tuple[ColumnReport, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"rows_read": self.rows_read, "rows": self.rows,
                "duplicates_dropped": self.duplicates_dropped,
                "missing_tokens": list(MISSING_TOKENS),
                "columns": [vars(c) for c in self.columns]}


@dataclass(frozen=True)
class CleaningPlan:
    """How every column of ``raw`` is cleaned: a SELECT list, and the types found in text."""

    select: str
    casts: dict[str, str]


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def plan_cleaning(conn: duckdb.DuckDBPyConnection) -> CleaningPlan:
    """Tokens to NULL and text trimmed; numbers, booleans and dates stored as text typed when
    every present value parses; exact decimals as floats."""
    schema = [(d[0], str(d[1])) for d in conn.sql("SELECT * FROM raw LIMIT 0").description]
    tokens = ", ".join("'" + t.replace("'", "''") + "'" for t in MISSING_TOKENS)
    trimmed = {
        name: f"CASE WHEN trim({q(name)}) IN ({tokens}) THEN NULL ELSE trim({q(name)}) END"
        for name, dtype in schema if dtype == "VARCHAR"}
    casts = _infer_text_types(conn, trimmed)
    select = ", ".join(_column_expression(name, dtype, trimmed, casts) for name, dtype in schema)
    return CleaningPlan(select=select, casts=casts)


def write_clean(conn: duckdb.DuckDBPyConnection, plan: CleaningPlan, path: Path) -> CleanReport:
    """Write ``raw`` cleaned to the Parquet file ``path``, without its exact duplicate rows
    (first occurrence kept, in order), and report what cleaning found."""
    rows_read = int(conn.execute(
        f"COPY (SELECT {plan.select} FROM raw) TO {sql_literal(path)} (FORMAT parquet)"
    ).fetchall()[0][0])
    columns = [d[0] for d in conn.sql(f"SELECT * FROM {sql_literal(path)} LIMIT 0").description]
    if _mark_repeated_rows(conn, path, columns):
        _rewrite_without_repeats(conn, path)
    return _report(conn, path, rows_read, plan.casts)


def _mark_repeated_rows(conn: duckdb.DuckDBPyConnection, path: Path, columns: list[str]) -> int:
    """Table ``repeated`` of the row numbers that exactly repeat an earlier row; their count.

    A 64-bit hash of each row finds the few rows that may repeat; only those are compared
    column by column, so the cost is one hash aggregate instead of grouping by every column.
    """
    row_hash = f"hash({', '.join(q(c) for c in columns)})"
    scan = f"read_parquet({sql_literal(path)}, file_row_number=true)"
    partition = ", ".join(q(c) for c in columns)
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE repeated AS SELECT file_row_number AS row_number "
        f"FROM {scan} WHERE {row_hash} IN (SELECT h FROM (SELECT {row_hash} AS h FROM {scan}) "
        f"GROUP BY h HAVING count(*) > 1) "
        f"QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY file_row_number) > 1")
    return int(conn.execute("SELECT count(*) FROM repeated").fetchall()[0][0])


def rewrite_path(path: Path) -> Path:
    """Where the snapshot without its repeated rows is written before it replaces ``path``."""
    return path.with_name(f"dedupe-{path.name}")


def _rewrite_without_repeats(conn: duckdb.DuckDBPyConnection, path: Path) -> None:
    kept = rewrite_path(path)
    conn.execute(
        f"COPY (SELECT * EXCLUDE (file_row_number) FROM read_parquet({sql_literal(path)}, "
        f"file_row_number=true) WHERE file_row_number NOT IN (SELECT row_number FROM repeated) "
        f"ORDER BY file_row_number) TO {sql_literal(kept)} (FORMAT parquet)")
    kept.replace(path)


def _report(conn: duckdb.DuckDBPyConnection, path: Path, rows_read: int,
            casts: dict[str, str]) -> CleanReport:
    """Rows, missing values (exact) and distinct values (approximate) per column, one scan."""
    final = [(d[0], str(d[1]))
             for d in conn.sql(f"SELECT * FROM {sql_literal(path)} LIMIT 0").description]
    parts = ", ".join(f"count(*) - count({q(c)}), approx_count_distinct({q(c)})"
                      for c, _ in final)
    rows, *values = conn.execute(
        f"SELECT count(*), {parts} FROM {sql_literal(path)}").fetchall()[0]
    columns = tuple(
        ColumnReport(name=name, dtype=dtype, missing=int(values[2 * i]),
                     inferred_from_text=casts.get(name), distinct=int(values[2 * i + 1]),
                     flag=_flag(rows, int(values[2 * i]), int(values[2 * i + 1])))
        for i, (name, dtype) in enumerate(final))
    return CleanReport(rows_read=rows_read, rows=int(rows),
                       duplicates_dropped=rows_read - int(rows), columns=columns)


def _infer_text_types(conn: duckdb.DuckDBPyConnection,
                      trimmed: dict[str, str]) -> dict[str, str]:
    """For each text column, the SQL type every one of its values parses as, if any.

    The first rows find the candidates; only those are verified over the whole column, so
    genuine text columns (most of them) cost one small read, not six casts per row. (The
    first rows rather than a random sample: sampling a CSV would parse all of it.)
    """
    candidates = _parse_counts(conn, trimmed, f"(SELECT * FROM raw LIMIT {CANDIDATE_ROWS})")
    plausible = {name: trimmed[name] for name, sql_type in candidates.items() if sql_type}
    return {name: sql_type for name, sql_type in _parse_counts(conn, plausible, "raw").items()
            if sql_type}


def _parse_counts(conn: duckdb.DuckDBPyConnection, trimmed: dict[str, str],
                  relation: str) -> dict[str, str | None]:
    """Per column, the first of BIGINT, DOUBLE, BOOLEAN, DATE, TIMESTAMP that parses every
    present value of ``relation``, or None."""
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
    values = conn.execute(f"SELECT {', '.join(parts)} FROM {relation}").fetchall()[0]
    found: dict[str, str | None] = {}
    for index, name in enumerate(trimmed):
        present, *parsed = values[index * 6:index * 6 + 6]
        found[name] = next(
            (sql_type for sql_type, count in zip(
                ("BIGINT", "DOUBLE", "BOOLEAN", "DATE", "TIMESTAMP"), parsed, strict=True)
             if present and count == present), None)
    return found


def _column_expression(name: str, dtype: str, trimmed: dict[str, str],
                       casts: dict[str, str]) -> str:
    if name in trimmed:
        return f"{_typed(trimmed[name], casts.get(name))} AS {q(name)}"
    if dtype.startswith("DECIMAL"):  # exact decimals (PostgreSQL numeric) become floats
        return f"CAST({q(name)} AS DOUBLE) AS {q(name)}"
    return q(name)


def _typed(expr: str, sql_type: str | None) -> str:
    if sql_type is None:
        return expr
    if sql_type == "BOOLEAN":
        true_tokens = ", ".join(f"'{t}'" for t in TRUE_TOKENS)
        return f"(lower({expr}) IN ({true_tokens}))"
    return f"CAST({expr} AS {sql_type})"


def _flag(rows: int, missing: int, distinct: int) -> str | None:
    if missing == rows:
        return "all missing"
    if distinct == 1:
        return "constant"
    if rows > 20 and distinct >= 0.98 * (rows - missing):  # HyperLogLog errs by ~2%
        return "unique per row"
    return None


def sql_literal(path: Path) -> str:
    """A path as a quoted SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"
