"""Cleaning inside DuckDB: missing-value tokens, trimmed text, types, exact duplicates.

The source is read once, streaming: one ``COPY (SELECT cleaned columns FROM raw)`` writes
the snapshot, so a table larger than memory is cleaned out of core without being held in
DuckDB first. Counts, distinct values and repeated rows then come from the snapshot's
columns, which DuckDB scans far faster than it parses text. Every decision is counted in the
report.

Exact duplicate rows are dropped only when a column identifies the records (its values are
unique among the distinct rows): the repeats are then copies of one record, and only then is
the snapshot written a second time. Without such a column, identical rows are observations
that happen to agree, and they stay: dropping them would change how often each outcome
occurs. (The shared mammography table repeats one feature vector 3,329 times with 7 positive
labels; de-duplicated, that point became one positive and one negative row, ~50% positive
instead of 0.2%, and the model's test AUROC fell from ~0.97 to 0.86.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb

MISSING_TOKENS = ("", "?", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "-")
TRUE_TOKENS = ("true", "yes", "y", "t")
FALSE_TOKENS = ("false", "no", "n", "f")
CANDIDATE_ROWS = 20_000
SPELLED_MAX_VALUES = 200
"""Columns with more distinct values keep no record of their written forms: they are not
labels, and a record of them would be as large as the column."""


def duplicates_note(facts: Mapping[str, Any]) -> str:
    """What happened to exact duplicate rows, from an ingest report or a profile's dataset
    facts: '2 duplicate rows dropped' (copies of records), '3,334 duplicate rows kept'."""
    kept = int(facts.get("duplicates_kept", 0))
    if kept:
        return f"{kept:,} duplicate rows kept"
    return f"{int(facts.get('duplicates_dropped', 0)):,} duplicate rows dropped"


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
    duplicates_kept: int = 0
    """Rows that exactly repeat an earlier one and were kept (no column identifies records)."""
    identifier: str | None = None
    """The column whose values identify records, when repeats were dropped as copies."""
    spellings: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per column stored otherwise than written: stored value (as text) -> its most frequent
    written form."""

    def as_dict(self) -> dict[str, Any]:
        return {"rows_read": self.rows_read, "rows": self.rows,
                "duplicates_dropped": self.duplicates_dropped,
                "duplicates_kept": self.duplicates_kept, "identifier": self.identifier,
                "missing_tokens": list(MISSING_TOKENS),
                "columns": [vars(c) for c in self.columns], "spellings": self.spellings}


@dataclass(frozen=True)
class CleaningPlan:
    """How every column of ``raw`` is cleaned: a SELECT list, and the types found in text."""

    select: str
    casts: dict[str, str]
    types: dict[str, str]
    """Each column's type in ``raw``."""


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def plan_cleaning(conn: duckdb.DuckDBPyConnection) -> CleaningPlan:
    """Tokens to NULL and text trimmed; numbers, booleans and dates stored as text typed when
    every present value parses; exact decimals as floats."""
    schema = _schema(conn, "raw")
    trimmed = {name: _trimmed(q(name)) for name, dtype in schema.items() if dtype == "VARCHAR"}
    casts = _infer_text_types(conn, trimmed)
    select = ", ".join(_column_expression(name, dtype, trimmed, casts)
                       for name, dtype in schema.items())
    return CleaningPlan(select=select, casts=casts, types=schema)


def _schema(conn: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    return {d[0]: str(d[1]) for d in conn.sql(f"SELECT * FROM {relation} LIMIT 0").description}


def _trimmed(expr: str) -> str:
    """The text ``expr`` trimmed, NULL for a missing-value token."""
    tokens = ", ".join(sql_literal(t) for t in MISSING_TOKENS)
    return f"CASE WHEN trim({expr}) IN ({tokens}) THEN NULL ELSE trim({expr}) END"


def write_clean(conn: duckdb.DuckDBPyConnection, plan: CleaningPlan, path: Path) -> CleanReport:
    """Write ``raw`` cleaned to the Parquet file ``path``, without the exact duplicates of
    identified records (first occurrence kept, in order; see the module doc), and report what
    cleaning found."""
    rows_read = int(conn.execute(
        f"COPY (SELECT {plan.select} FROM raw) TO {sql_literal(path)} (FORMAT parquet)"
    ).fetchall()[0][0])
    columns = [d[0] for d in conn.sql(f"SELECT * FROM {sql_literal(path)} LIMIT 0").description]
    repeated = _mark_repeated_rows(conn, path, columns)
    identifier = _identifier(conn, path, columns, rows_read - repeated) if repeated else None
    if identifier is not None:
        _rewrite_without_repeats(conn, path)
    report = _report(conn, path, rows_read, plan.casts)
    return replace(report, spellings=_spellings(conn, plan, path, report.columns),
                   duplicates_kept=0 if identifier is not None else repeated,
                   identifier=identifier)


def _identifier(conn: duckdb.DuckDBPyConnection, path: Path, columns: list[str],
                distinct_rows: int) -> str | None:
    """The first column with as many distinct values as the table has distinct rows: one
    value per record, so rows that repeat it exactly are copies of that record."""
    counts = conn.execute("SELECT " + ", ".join(f"count(DISTINCT {q(c)})" for c in columns)
                          + f" FROM {sql_literal(path)}").fetchall()[0]
    return next((c for c, n in zip(columns, counts, strict=True) if n == distinct_rows), None)


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


def _spellings(conn: duckdb.DuckDBPyConnection, plan: CleaningPlan, path: Path,
               columns: tuple[ColumnReport, ...]) -> dict[str, dict[str, str]]:
    """Per text column stored as booleans, or trimmed so that a value's most frequent written
    form is not the stored text: each stored value's most frequent written form (ties: the
    stored text itself, else the first in sort order). Only columns with at most
    SPELLED_MAX_VALUES values are looked at. The first rows give the forms (reading a CSV
    again costs as much as cleaning it); a column is counted over every row only when they
    miss some of its stored values (a table sorted by its label, say)."""
    stored = _stored_from_written(conn, plan, columns)
    if not stored:
        return {}
    forms = _written_forms(conn, stored, f"(SELECT * FROM raw_text LIMIT {CANDIDATE_ROWS})")
    missed = _missed_values(conn, path, stored, forms)
    if missed:
        forms |= _written_forms(conn, missed, "raw_text")
    booleans = {c.name for c in columns if c.dtype == "BOOLEAN"}
    return {name: found for name, found in forms.items()
            if name in booleans or any(key != written for key, written in found.items())}


def _stored_from_written(conn: duckdb.DuckDBPyConnection, plan: CleaningPlan,
                         columns: tuple[ColumnReport, ...]) -> dict[str, str]:
    """Per column that may be stored otherwise than written, the SQL of the value stored for
    its written ``text``: as cleaning stores it, or as the CSV reader typed it."""
    written = {name for name, dtype in _schema(conn, "raw_text").items() if dtype == "VARCHAR"}
    return {
        c.name: _typed(_trimmed("text"), plan.casts.get(c.name))
        if plan.types[c.name] == "VARCHAR" else f"TRY_CAST(text AS {plan.types[c.name]})"
        for c in columns if c.name in written and c.dtype in ("VARCHAR", "BOOLEAN")
        and 0 < c.distinct <= SPELLED_MAX_VALUES}


def _written_forms(conn: duckdb.DuckDBPyConnection, stored: dict[str, str],
                   relation: str) -> dict[str, dict[str, str]]:
    """Per column of ``stored``: stored value as text -> most frequent written form in
    ``relation``. One histogram per column, unpivoted; each written form then stored as
    ``stored`` says."""
    histograms = ", ".join(f"histogram({q(name)}) AS {q(name)}" for name in stored)
    cases = " ".join(f"WHEN {sql_literal(name)} THEN ({expr})::VARCHAR"
                     for name, expr in stored.items())
    rows = conn.execute(
        f"SELECT name, key, text FROM (SELECT name, text, n, CASE name {cases} END AS key "
        f"FROM (SELECT name, unnest(map_keys(counts)) AS text, "
        f"unnest(map_values(counts)) AS n FROM (UNPIVOT (SELECT {histograms} FROM {relation}) "
        f"ON COLUMNS(*) INTO NAME name VALUE counts))) WHERE key IS NOT NULL "
        f"QUALIFY row_number() OVER (PARTITION BY name, key "
        f"ORDER BY n DESC, text = key DESC, text) = 1 ORDER BY name, key").fetchall()
    forms: dict[str, dict[str, str]] = {}
    for name, key, written in rows:
        forms.setdefault(name, {})[key] = written
    return forms


def _missed_values(conn: duckdb.DuckDBPyConnection, path: Path, stored: dict[str, str],
                   forms: dict[str, dict[str, str]]) -> dict[str, str]:
    """The columns of ``stored`` whose snapshot holds values ``forms`` has no form for."""
    counts = conn.execute(
        f"SELECT {', '.join(f'count(DISTINCT {q(name)})' for name in stored)} "
        f"FROM {sql_literal(path)}").fetchall()[0]
    return {name: expr for (name, expr), distinct in zip(stored.items(), counts, strict=True)
            if len(forms.get(name, {})) < distinct}


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


def sql_literal(text: str | Path) -> str:
    """A path or a text as a quoted SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"
