"""Ingest: read a source, clean it, and keep an immutable, content-hashed Parquet snapshot.

A file's version is the SHA-256 of its bytes, so ingesting an unchanged file again finds the
existing snapshot before doing any work; a database query's version is the hash of the
snapshot it produced. Snapshots and their ingest reports are written under temporary names
and renamed into place, so a crash or a kill never leaves a half dataset visible.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import psutil

from flows.core.data.cleaning import plan_cleaning, rewrite_path, write_clean
from flows.core.errors import SchemaError
from flows.core.files import PARTIAL_MARK, write_atomically
from flows.core.data.labels import as_written
from flows.core.data.sources import Source, column_names, load_raw, parse_source, read_error
from flows.core.types import DatasetRef

INGEST_LOGIC_VERSION = b"autopipe-ingest-6\0"
"""Part of every file's hash: change it when cleaning changes, so old snapshots are not reused."""
INGEST_MEMORY_MB = 2048
"""DuckDB's memory limit while ingesting; past it, work spills to a temporary directory."""


@dataclass(frozen=True)
class IngestResult:
    dataset: DatasetRef
    created: bool


def check_source(text: str, target: str, query: str | None = None) -> Source:
    """Cheap checks before any real work: the source reads and has the target column."""
    source = parse_source(text, query)
    require_columns(column_names(source), target)
    return source


def ingest(source: Source, datasets_dir: Path, name: str | None = None) -> IngestResult:
    """Snapshot a source (or find its existing snapshot) and report what cleaning did."""
    datasets_dir.mkdir(parents=True, exist_ok=True)
    _sweep_partials(datasets_dir)
    name = name or source.default_name
    if source.is_file:
        content_hash = file_hash(Path(source.location))
        existing = _existing(datasets_dir, content_hash, name, source)
        if existing:
            return existing
    partial = datasets_dir / f"snapshot{PARTIAL_MARK}{os.getpid()}.parquet"
    with _ingest_connection() as conn, _reading(source, partial):
        load_raw(conn, source)
        report = write_clean(conn, plan_cleaning(conn), partial).as_dict()
    if not source.is_file:
        content_hash = file_hash(partial)
    report |= {"source": source.describe(), "source_kind": source.kind, "name": name}
    final = snapshot_path(datasets_dir, content_hash)
    created = not final.exists()
    if created:
        write_atomically(final.with_suffix(".json"), json.dumps(report, indent=2))
        os.replace(partial, final)
    else:
        partial.unlink()
    return IngestResult(_ref(name, content_hash, final, source, report), created)


def snapshot_path(datasets_dir: Path, content_hash: str) -> Path:
    return datasets_dir / f"{content_hash[:16]}.parquet"


def read_snapshot(dataset: DatasetRef, target: str | None = None) -> pl.DataFrame:
    """The snapshot; with a ``target``, its labels as the source wrote them."""
    frame = pl.read_parquet(dataset.snapshot_path)
    return as_written(frame, target, dataset.spellings(target)) if target else frame


def snapshot_files(dataset: DatasetRef) -> tuple[Path, Path]:
    """The snapshot and its facts file."""
    return dataset.snapshot_path, dataset.snapshot_path.with_suffix(".json")


def remove_snapshot(dataset: DatasetRef) -> None:
    """Undo a snapshot this process created (a run failed after ingest)."""
    for path in reversed(snapshot_files(dataset)):
        path.unlink(missing_ok=True)


def read_table(text: str) -> pl.DataFrame:
    """A source read and cleaned like an ingest, without de-duplication or a snapshot: every
    row stays, in order (what batch prediction needs)."""
    source = parse_source(text)
    with _ingest_connection() as conn, _reading(source):
        load_raw(conn, source)
        return conn.sql(f"SELECT {plan_cleaning(conn).select} FROM raw").pl()


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


@contextmanager
def _ingest_connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """A private in-memory DuckDB that spills to a temporary directory past its memory limit."""
    spill = tempfile.mkdtemp(prefix="autopipe-ingest-")
    limit_mb = min(INGEST_MEMORY_MB, int(psutil.virtual_memory().total / 2**20 * 0.25))
    conn = duckdb.connect(config={"memory_limit": f"{limit_mb}MB", "temp_directory": spill,
                                  "preserve_insertion_order": True})
    conn.execute("SET enable_progress_bar = false")
    try:
        yield conn
    finally:
        conn.close()
        shutil.rmtree(spill, ignore_errors=True)


@contextmanager
def _reading(source: Source, *partials: Path) -> Iterator[None]:
    """Turn a failure while the source is scanned into the user's error, leaving nothing."""
    try:
        yield
    except duckdb.Error as exc:
        for partial in partials:
            partial.unlink(missing_ok=True)
            rewrite_path(partial).unlink(missing_ok=True)
        raise read_error(source, exc) from exc


def _existing(datasets_dir: Path, content_hash: str, name: str,
              source: Source) -> IngestResult | None:
    final = snapshot_path(datasets_dir, content_hash)
    sidecar = final.with_suffix(".json")
    if not (final.exists() and sidecar.exists()):
        return None
    report = json.loads(sidecar.read_text())
    return IngestResult(_ref(name, content_hash, final, source, report), False)


def _ref(name: str, content_hash: str, path: Path, source: Source,
         report: dict[str, Any]) -> DatasetRef:
    return DatasetRef(name=name, content_hash=content_hash, snapshot_path=path,
                      source=source.describe(), rows=int(report["rows"]),
                      columns=len(report["columns"]), created_at=datetime.now(), report=report)


def file_hash(path: Path) -> str:
    """The content's hash (with the ingest logic's version: new cleaning, new versions)."""
    digest = hashlib.sha256(INGEST_LOGIC_VERSION)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sweep_partials(datasets_dir: Path) -> None:
    """Remove temporary files left by an ingest that was killed (its process is gone)."""
    for leftover in datasets_dir.glob(f"*{PARTIAL_MARK}*"):
        pid_text = leftover.name.split(PARTIAL_MARK, 1)[1].split(".", 1)[0]
        if pid_text.isdigit() and not psutil.pid_exists(int(pid_text)):
            leftover.unlink(missing_ok=True)
