"""The catalog file and its connections.

DuckDB lets one process hold the file open for writing and then refuses every other process,
readers included. So nothing holds the catalog open: every access is one short connection
taken under an advisory ``flock`` on ``autopipe.duckdb.lock`` and closed at once.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from flows.core.store.schema import migrate


class CatalogFile:
    """One catalog file; each table group's queries build on its connections."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One short connection under the file lock; migrates the schema on first use."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with lock_path.open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                conn = duckdb.connect(str(self.path))
                try:
                    migrate(conn)
                    yield conn
                finally:
                    conn.close()
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
