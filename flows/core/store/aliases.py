"""The alias tables' queries: which version is champion or challenger of each slice, now and
at any time before, and every move of an alias (an event and an audit entry each)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from flows.core.errors import ModelNotFoundError
from flows.core.store.connection import CatalogFile
from flows.core.store.rows import AliasChange, record_alias

LATEST_PER_ALIAS = ("QUALIFY row_number() OVER (PARTITION BY family, slice, alias "
                     "ORDER BY occurred_at DESC) = 1")
"""An alias's current value is its newest event (a cleared alias has a NULL version)."""


class AliasQueries(CatalogFile):
    """Aliases and dataset families, over the catalog's connections."""

    def change_alias(self, change: AliasChange, detail: dict[str, Any] | None = None) -> None:
        """Point an alias at a version (or clear it), with its event and audit entry."""
        with self.connect() as conn:
            conn.execute("BEGIN")
            try:
                record_alias(conn, change, detail)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def aliases(self, family: str) -> dict[tuple[str, str], str]:
        """(slice, alias) -> version, as they stand now."""
        with self.connect() as conn:
            rows = conn.execute(
                f"SELECT slice, alias, version FROM alias_events WHERE family = $1 "
                f"{LATEST_PER_ALIAS}", [family]).fetchall()
        return {(slice_, alias): version for slice_, alias, version in rows if version}

    def alias_history(self, family: str) -> pl.DataFrame:
        with self.connect() as conn:
            return conn.sql("SELECT * FROM alias_events WHERE family = $1 ORDER BY occurred_at",
                            params=[family]).pl()

    def alias_at(self, family: str, slice_: str, alias: str, when: datetime) -> str | None:
        """Which version the alias pointed at, at time ``when``."""
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT version FROM alias_events WHERE family = $1 AND slice = $2 AND "
                "alias = $3 AND occurred_at <= $4 ORDER BY occurred_at DESC LIMIT 1",
                [family, slice_, alias, when]).fetchall()
        return rows[0][0] if rows else None

    def rollback_target(self, family: str, slice_: str) -> str | None:
        """The champion before the current one, skipping versions already rolled back from."""
        history = self.alias_history(family).filter(slice=slice_, alias="champion")
        if history.is_empty():
            return None
        current = history["version"][-1]
        rolled_back = set(history.filter(action="rollback")["replaced"].drop_nulls())
        for version in reversed(history["version"].to_list()):
            if version and version != current and version not in rolled_back:
                return str(version)
        return None

    def family_of(self, version: str) -> str:
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT d.name FROM models m JOIN datasets d ON d.content_hash = m.dataset_hash "
                "WHERE m.version = $1", [version]).fetchall()
        if not rows:
            raise ModelNotFoundError(f"no model version {version!r} in the catalog",
                                     "list the versions with 'autopipe models'")
        return str(rows[0][0])

    def families(self) -> list[str]:
        with self.connect() as conn:
            rows = conn.execute("SELECT DISTINCT family FROM alias_events ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    def family_versions(self, family: str) -> list[str]:
        """Every model version trained on any version of the dataset ``family``."""
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT m.version FROM models m JOIN datasets d ON d.content_hash = "
                "m.dataset_hash WHERE d.name = $1 ORDER BY m.created_at", [family]).fetchall()
        return [r[0] for r in rows]
