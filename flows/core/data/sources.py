"""Where tables come from: files of many formats and SQL databases, read into DuckDB.

Every source ends up as a DuckDB relation named ``raw`` on a private in-memory connection,
so cleaning, de-duplication and the snapshot write run out of core in DuckDB whatever the
source was. Files DuckDB reads natively (CSV/TSV with its dialect sniffer, Parquet, JSON and
NDJSON) are scanned in place; Excel and databases come through Python drivers (DuckDB's
excel, sqlite and postgres extensions cannot be downloaded here).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import duckdb
import polars as pl

from flows.core.data.cleaning import sql_literal
from flows.core.errors import SourceError

CSV_SUFFIXES = {".csv": None, ".tsv": "\t", ".txt": None}
FILE_FORMATS = ".csv, .tsv, .txt (optionally .gz), .parquet, .json, .ndjson/.jsonl, .xlsx"
DB_SCHEMES = ("sqlite", "postgresql", "postgres")
SAMPLE_BYTES = 1 << 16
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@dataclass(frozen=True)
class Source:
    """A parsed source: a file path, or a database URI with a table or a query."""

    kind: str  # "csv", "parquet", "json", "excel", "sqlite", "postgresql"
    location: str
    table: str | None = None
    query: str | None = None

    @property
    def is_file(self) -> bool:
        return self.kind in ("csv", "parquet", "json", "excel")

    @property
    def default_name(self) -> str:
        if self.is_file:
            name = Path(self.location).name
            for suffix in (".gz", *CSV_SUFFIXES, ".parquet", ".json", ".ndjson", ".jsonl",
                           ".xlsx"):
                name = name.removesuffix(suffix)
            return name or "dataset"
        return self.table or "query"

    def describe(self) -> str:
        """The source as shown to people (no passwords)."""
        if self.is_file:
            return self.location
        parsed = urlparse(self.location)
        safe = parsed._replace(netloc=parsed.hostname or "") if parsed.password else parsed
        return f"{safe.geturl()} ({'table ' + self.table if self.table else 'query'})"


def parse_source(text: str, query: str | None = None) -> Source:
    """Turn what the user typed into a Source, or say what is wrong with it."""
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in DB_SCHEMES:
        return _database_source(text, query)
    if scheme:
        raise SourceError(f"unsupported source scheme {scheme}://",
                          "use a file path, sqlite:///file.db?table=T or postgresql://...")
    path = Path(text).expanduser()
    _check_file(path)
    kind = file_kind(path)
    if kind is None:
        raise SourceError(f"unsupported file type: {path.name}",
                          f"autopipe reads {FILE_FORMATS}; convert the file to one of them")
    return Source(kind=kind, location=str(path.resolve()))


def file_kind(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    return {".parquet": "parquet", ".json": "json", ".ndjson": "json", ".jsonl": "json",
            ".xlsx": "excel"}.get(last, "csv" if last in CSV_SUFFIXES else None)


def load_raw(conn: duckdb.DuckDBPyConnection, source: Source) -> None:
    """Make the source's table the relation ``raw``: a view scanning a CSV or Parquet file in
    place (read when it is used, so reading errors surface then: see ``read_error``), or a
    table loaded from the other sources. And ``raw_text``: the same, except that a CSV's
    columns DuckDB's sniffer typed as booleans are read as the text they were written as."""
    reader = {"csv": _load_csv, "parquet": _load_parquet, "json": _load_json,
              "excel": _load_excel, "sqlite": _load_sqlite, "postgresql": _load_postgres}
    reader[source.kind](conn, source)
    conn.execute("CREATE VIEW IF NOT EXISTS raw_text AS SELECT * FROM raw")
    _require_rows(conn, source)


def column_names(source: Source) -> list[str]:
    """The columns, read cheaply (a CSV's first rows, a query's first row), for the checks
    before any real work; fails as a full read would on an unreadable or empty table."""
    conn = duckdb.connect()
    try:
        if source.kind == "csv":
            _load_csv(conn, source, sample_only=True)
        elif source.is_file:
            load_raw(conn, source)
        else:
            query = f"SELECT * FROM ({_database_query(source)}) AS peek LIMIT 1"
            load_raw(conn, Source(source.kind, source.location, None, query))
        _require_rows(conn, source)
        return [d[0] for d in conn.sql("SELECT * FROM raw LIMIT 0").description]
    finally:
        conn.close()


def _require_rows(conn: duckdb.DuckDBPyConnection, source: Source) -> None:
    if not conn.execute("SELECT count(*) FROM (SELECT 1 FROM raw LIMIT 1)").fetchall()[0][0]:
        raise SourceError(f"{source.describe()} has a header but no data rows",
                          "give a table with at least a few dozen rows")


def _check_file(path: Path) -> None:
    if not path.exists():
        raise SourceError(f"file not found: {path}",
                          f"check the path (relative paths start from {Path.cwd()})")
    if not path.is_file():
        raise SourceError(f"{path} is not a file", "give the path of a data file")
    if path.stat().st_size == 0:
        raise SourceError(f"{path} is empty", "give a file with a header row and data rows")


def _fail(source: Source, what: str, exc: Exception, hint: str) -> SourceError:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return SourceError(f"could not read {source.describe()} as {what}: {first}", hint)


def _text_encoding(path: Path) -> str:
    """UTF-8 when the start decodes as UTF-8, else Latin-1; refuse binary content."""
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            sample = handle.read(SAMPLE_BYTES)
    except OSError as exc:
        raise SourceError(f"could not read {path}: {exc}", "check the file is not damaged") \
            from exc
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    if b"\x00" in sample or controls > len(sample) // 100:
        raise SourceError(
            f"{path} is not text in a supported encoding (UTF-8 or Latin-1): it holds binary data",
            "export the table as CSV (UTF-8) or give a Parquet, JSON or Excel file")
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # not just a character cut at the sample's end
            return "latin-1"
    return "utf-8"


def _load_csv(conn: duckdb.DuckDBPyConnection, source: Source, sample_only: bool = False) -> None:
    path = Path(source.location)
    encoding = _text_encoding(path)
    options = f"encoding='{encoding}', strict_mode=true, null_padding=false"
    delimiter = CSV_SUFFIXES.get(path.suffixes[0].lower() if path.suffixes else "")
    if delimiter:
        options += ", delim='\\t'"
    sample = ", sample_size=2048" if sample_only else ""
    try:
        options += _quote_option(conn, path, options)
        scan = f"read_csv({sql_literal(path)}, {options}{sample}"
        _check_dialect(conn, source, options)
        conn.execute(f"CREATE OR REPLACE VIEW raw AS SELECT * FROM {scan})")
        described = conn.sql("SELECT * FROM raw LIMIT 0").description
        as_text = ", ".join(f"{sql_literal(d[0])}: 'VARCHAR'" for d in described
                            if str(d[1]) == "BOOLEAN")
        if as_text:
            conn.execute(f"CREATE OR REPLACE VIEW raw_text AS SELECT * FROM {scan}, "
                         f"header=true, types={{{as_text}}})")
    except duckdb.Error as exc:
        raise _csv_error(source, exc) from exc
    if len(described) == 1:
        header = _first_line(path, encoding)
        if any(mark in header for mark in (",", ";", "\t", "|")):
            raise SourceError(
                f"{source.describe()} reads as a single column although its header has "
                f"separators: {header[:80]!r}",
                "the rows are ragged or the delimiter is inconsistent; fix the file so every "
                "row has as many fields as the header")


def _quote_option(conn: duckdb.DuckDBPyConnection, path: Path, options: str) -> str:
    """Double quotes quote fields, as in pandas, Excel and Python's csv module: a file whose
    values are written in single quotes (``'-1'``, ``'40-49'``, as UCI tables re-shared as
    CSV are) keeps them, so a label comes back exactly as written. Only when the file's
    fields need single quotes to hold their delimiters (fewer columns without them) are they
    DuckDB's quote character, as its sniffer found."""
    sniffed = conn.execute(f"SELECT Quote, len(Columns) FROM sniff_csv({sql_literal(path)}, "
                           f"{options})").fetchall()[0]
    if sniffed[0] != "'":
        return ""
    plain = conn.execute(f"SELECT len(Columns) FROM sniff_csv({sql_literal(path)}, {options}, "
                         f"quote='\"')").fetchall()[0][0]
    return ", quote='\"'" if plain == sniffed[1] else ""


def _check_dialect(conn: duckdb.DuckDBPyConnection, source: Source, options: str) -> None:
    """Refuse what DuckDB's sniffer would otherwise read silently wrong: lines skipped before
    the first consistent row, or no header row (columns named column0, column1, ...)."""
    delimiter, skipped, has_header = conn.execute(
        f"SELECT Delimiter, SkipRows, HasHeader FROM "
        f"sniff_csv({sql_literal(Path(source.location))}, {options})").fetchall()[0]
    if skipped:
        raise SourceError(
            f"{source.describe()}: the first {skipped} line(s) do not match the rest of the file "
            f"(the delimiter looks like {delimiter!r} after them)",
            "make the first line the header and use one delimiter on every line")
    if not has_header:
        raise SourceError(f"{source.describe()} has no header row: its first line looks like data",
                          "add a first line with the column names")


def read_error(source: Source, exc: duckdb.Error) -> SourceError:
    """The user-facing error for a failure while DuckDB scans the source."""
    if source.kind == "csv":
        return _csv_error(source, exc)
    if source.kind == "parquet":
        return _fail(source, "Parquet", exc, "the file is damaged or still being written; "
                     "wait for the writer to finish, or export it again")
    return _fail(source, "a table", exc, "check the source holds one table with a header")


def _csv_error(source: Source, exc: duckdb.Error) -> SourceError:
    text = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    if "Expected Number of Columns" in text or "too many columns" in text.lower():
        where = f" on line {line.group(1)}" if line else ""
        return SourceError(
            f"{source.describe()} has rows with a different number of fields{where}",
            "every row needs as many fields as the header; check quoting and delimiters")
    return _fail(source, "CSV", exc, "check that it is a complete CSV file with a header row")


def _first_line(path: Path, encoding: str) -> str:
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding=encoding, errors="replace") as handle:
        return handle.readline().strip()


def _load_parquet(conn: duckdb.DuckDBPyConnection, source: Source) -> None:
    scan = f"read_parquet({sql_literal(Path(source.location))})"
    try:
        conn.execute(f"CREATE OR REPLACE VIEW raw AS SELECT * FROM {scan}")
        conn.sql("SELECT * FROM raw LIMIT 0").description  # noqa: B018 - reads the footer
    except duckdb.Error as exc:
        raise read_error(source, exc) from exc


def _load_json(conn: duckdb.DuckDBPyConnection, source: Source) -> None:
    try:
        conn.execute(f"CREATE OR REPLACE TABLE raw_data AS SELECT * FROM read_json("
                     f"{sql_literal(Path(source.location))})")
        conn.execute("CREATE OR REPLACE VIEW raw AS SELECT * FROM raw_data")
    except duckdb.Error as exc:
        raise _fail(source, "JSON", exc, "give a JSON array of objects, or one object per "
                    "line (NDJSON)") from exc


def _load_excel(conn: duckdb.DuckDBPyConnection, source: Source) -> None:
    try:
        frame = pl.read_excel(source.location)
    except Exception as exc:  # fastexcel raises its own error types
        raise _fail(source, "Excel", exc, "give an .xlsx workbook whose first sheet holds "
                    "the table, header in the first row") from exc
    _register(conn, frame)


def _database_source(text: str, query: str | None) -> Source:
    parsed = urlparse(text)
    kind = "sqlite" if parsed.scheme.lower() == "sqlite" else "postgresql"
    tables = parse_qs(parsed.query).get("table", [])
    table = tables[0] if tables else None
    if (table is None) == (query is None):
        raise SourceError("a database source needs a table or a query, not both or neither",
                          "add ?table=NAME to the URI, or pass --query 'SELECT ...'")
    if table and not _IDENTIFIER.match(table):
        raise SourceError(f"{table!r} is not a plain table name",
                          "use letters, digits, _ and an optional schema prefix, or --query")
    location = parsed._replace(query="").geturl()
    if kind == "sqlite":
        # SQLAlchemy's convention: sqlite:///relative.db and sqlite:////absolute/path.db
        path = Path((parsed.netloc + parsed.path).removeprefix("/")).expanduser()
        location = str(path.resolve())
        if not path.exists():
            raise SourceError(f"SQLite database not found: {path}",
                              "sqlite:///relative/path.db or sqlite:////absolute/path.db")
    return Source(kind=kind, location=location, table=table, query=query)


def _database_query(source: Source) -> str:
    return source.query or f"SELECT * FROM {source.table}"


def _load_sqlite(conn: duckdb.DuckDBPyConnection, source: Source) -> None:
    try:
        with sqlite3.connect(f"file:{source.location}?mode=ro", uri=True) as db:
            frame = pl.read_database(_database_query(source), db, infer_schema_length=None)
    except (sqlite3.Error, pl.exceptions.PolarsError) as exc:
        raise _fail(source, "a SQLite table", exc,
                    "check the table name or the query, and that the file is a SQLite "
                    "database") from exc
    _register(conn, frame)


def _load_postgres(conn: duckdb.DuckDBPyConnection, source: Source) -> None:
    import psycopg

    try:
        with psycopg.connect(source.location, connect_timeout=10) as db:
            frame = pl.read_database(_database_query(source), db, infer_schema_length=None)
    except psycopg.OperationalError as exc:
        raise SourceError(
            f"could not connect to {source.describe()}: {str(exc).strip().splitlines()[0]}",
            "check host, port, database, user and password, and that the server is "
            "running") from exc
    except (psycopg.Error, pl.exceptions.PolarsError) as exc:
        raise _fail(source, "a PostgreSQL table", exc,
                    "check the table name or the query") from exc
    _register(conn, frame)


def _register(conn: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> None:
    conn.register("raw_frame", frame.to_arrow())
    conn.execute("CREATE OR REPLACE TABLE raw_data AS SELECT * FROM raw_frame")
    conn.unregister("raw_frame")
    conn.execute("CREATE OR REPLACE VIEW raw AS SELECT * FROM raw_data")
