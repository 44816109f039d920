"""Ingest: read a file, clean it lightly, and keep an immutable, content-hashed snapshot.

The snapshot is named by the SHA-256 of the source bytes, so ingesting identical content again
finds the existing file and writes nothing. It is written under a temporary name and renamed,
so a crash never leaves a half snapshot behind.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import polars as pl

from flows.core.errors import SchemaError, SourceError
from flows.core.types import DatasetRef

MISSING_TOKENS = ("", "?", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "-")
CSV_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": ","}
SUPPORTED = ".csv, .tsv, .txt (optionally .gz) and .parquet"


def dataset_name(path: Path) -> str:
    """The default dataset name: the file name without its format suffixes."""
    name = path.name
    for suffix in (".gz", ".parquet", *CSV_SUFFIXES):
        name = name.removesuffix(suffix)
    return name or "dataset"


def check_source(path: Path, target: str) -> None:
    """Cheap checks before any work: the file exists, its header reads, the target is there.

    Only the header (or Parquet footer) is read, so a bad command fails in a moment.
    """
    _check_file(path)
    require_columns(_column_names(path), target)


def read_table(path: Path) -> pl.DataFrame:
    """Read a CSV/TSV/Parquet file into a cleaned frame, or say clearly why not."""
    _check_file(path)
    frame = _read_raw(path)
    if frame.width == 0 or frame.height == 0:
        raise SchemaError(f"{path} has a header but no data rows",
                          "give a file with at least a few dozen rows")
    return clean(frame)


def clean(frame: pl.DataFrame) -> pl.DataFrame:
    """Trim text, turn missing-value tokens into nulls, and type numbers stored as text."""
    text_columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if not text_columns:
        return frame
    trimmed = frame.with_columns(
        pl.when(pl.col(c).str.strip_chars().is_in(MISSING_TOKENS))
        .then(None)
        .otherwise(pl.col(c).str.strip_chars())
        .alias(c)
        for c in text_columns
    )
    return trimmed.with_columns(_numeric_if_all_parse(trimmed[c]) for c in text_columns)


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def snapshot(frame: pl.DataFrame, source: Path, datasets_dir: Path,
             name: str | None = None) -> tuple[DatasetRef, bool]:
    """Write the frame as an immutable snapshot; return its reference and whether it is new."""
    content_hash = file_hash(source)
    datasets_dir.mkdir(parents=True, exist_ok=True)
    target = datasets_dir / f"{content_hash[:16]}.parquet"
    created = not target.exists()
    if created:
        partial = target.with_suffix(f".partial-{os.getpid()}")
        frame.write_parquet(partial)
        os.replace(partial, target)
    ref = DatasetRef(
        name=name or dataset_name(source), content_hash=content_hash, snapshot_path=target,
        source=str(source.resolve()), rows=frame.height, columns=frame.width,
        created_at=datetime.now())
    return ref, created


def _check_file(path: Path) -> None:
    if not path.exists():
        raise SourceError(f"file not found: {path}",
                          f"check the path (relative paths start from {Path.cwd()})")
    if not path.is_file():
        raise SourceError(f"{path} is not a file", "give the path of a CSV or Parquet file")
    if path.stat().st_size == 0:
        raise SourceError(f"{path} is empty", "give a file with a header row and data rows")
    if _format(path) is None:
        raise SourceError(f"unsupported file type: {path.name}",
                          f"autopipe reads {SUPPORTED}; convert the file to one of them")


def _format(path: Path) -> str | None:
    """'.parquet' or a key of CSV_SUFFIXES, looking through a trailing '.gz'."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    base = suffixes[-1] if suffixes else ""
    return base if base == ".parquet" or base in CSV_SUFFIXES else None


@contextmanager
def _readable(path: Path) -> Iterator[None]:
    """Turn a reader's exception into a SourceError naming the file and the fix."""
    try:
        yield
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError, ValueError) as exc:
        kind = "Parquet" if _format(path) == ".parquet" else "CSV"
        text = str(exc).strip()
        first_line = text.splitlines()[0] if text else type(exc).__name__
        raise SourceError(
            f"could not read {path} as {kind}: {first_line}",
            f"check that it is a complete, UTF-8 {kind} file with a header row") from exc


def _column_names(path: Path) -> list[str]:
    """The header alone (the Parquet footer, or the first CSV line)."""
    with _readable(path):
        if _format(path) == ".parquet":
            return list(pl.read_parquet_schema(path))
        separator = CSV_SUFFIXES[_format(path) or ".csv"]
        return pl.read_csv(path, separator=separator, n_rows=1, infer_schema=False).columns


def _read_raw(path: Path) -> pl.DataFrame:
    with _readable(path):
        if _format(path) == ".parquet":
            return pl.read_parquet(path)
        return pl.read_csv(path, separator=CSV_SUFFIXES[_format(path) or ".csv"],
                           infer_schema_length=None, null_values=list(MISSING_TOKENS),
                           try_parse_dates=False)


def _numeric_if_all_parse(column: pl.Series) -> pl.Series:
    """A text column whose every value is a number becomes numeric (integer if it can)."""
    non_null = column.drop_nulls()
    if non_null.len() == 0:
        return column
    as_float = column.cast(pl.Float64, strict=False)
    if as_float.null_count() != column.null_count():
        return column
    whole = as_float.drop_nulls()
    if (whole == whole.round(0)).all() and whole.abs().max() < 2**53:  # type: ignore[operator]
        return as_float.cast(pl.Int64)
    return as_float


def require_columns(columns: list[str], target: str) -> None:
    """Fail early, with close names suggested, when the target column is not in the table."""
    if target in columns:
        return
    lowered = {c.lower(): c for c in columns}
    close = difflib.get_close_matches(target.lower(), list(lowered), n=3, cutoff=0.5)
    suggestion = ", ".join(repr(lowered[c]) for c in close)
    hint = (f"did you mean {suggestion}?" if close
            else f"the columns are: {', '.join(columns[:20])}")
    raise SchemaError(f"target column {target!r} is not in the table", hint)


def ingest_source(source: str, target: str, datasets_dir: Path,
                  name: str | None = None) -> tuple[pl.DataFrame, DatasetRef, bool]:
    """Read and check a source, then snapshot it. Nothing is written unless the table is
    readable and has the target column."""
    path = Path(source).expanduser()
    frame = read_table(path)
    require_columns(frame.columns, target)
    ref, created = snapshot(frame, path, datasets_dir, name)
    return frame, ref, created
