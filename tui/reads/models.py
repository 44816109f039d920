"""What the Models screen shows, read from the catalog: every registered version grouped by
dataset family and slice, and for one version its model card and its family's alias history.

Plain functions over the Catalog (called from thread workers), so the rows can be tested
without a terminal and the screen only formats them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flows.core.registry.artifacts import CARD_MARKDOWN_FILE
from flows.core.store.catalog import GLOBAL_SLICE, Catalog

NO_CARD = "*This version has no model card: its artifact directory is gone or incomplete.*"


@dataclass(frozen=True)
class ModelDetail:
    """One version's readable card and the alias moves of its family, newest first."""

    version: str
    card: str
    history: list[dict[str, Any]]


def load_models(catalog: Catalog) -> list[dict[str, Any]]:
    """Every model version, by dataset and slice (the global model first), newest first
    within each; ``slice`` is '' for a global model."""
    rows = catalog.list_models().to_dicts()
    for row in rows:
        row["slice"] = _slice_of(row["lineage"])
        row["aliases"] = _ordered(row["aliases"])
    return sorted(rows, key=lambda r: (r["dataset"], r["slice"] != GLOBAL_SLICE, r["slice"],
                                       -r["created_at"].timestamp()))


def load_detail(catalog: Catalog, version: str, family: str) -> ModelDetail:
    path = catalog.model(version).artifact_path / CARD_MARKDOWN_FILE
    card = path.read_text() if path.exists() else NO_CARD
    history = catalog.alias_history(family).reverse().to_dicts()
    return ModelDetail(version, card, history)


def _slice_of(lineage: str | None) -> str:
    """A slice model's lineage names its slice (``list_models`` has no slice column)."""
    return str(json.loads(lineage).get("slice") or GLOBAL_SLICE) if lineage else GLOBAL_SLICE


def _ordered(aliases: str) -> str:
    """'champion@b, champion, champion@a' as 'champion, champion@a, champion@b': the catalog
    orders a version's aliases by name only, and ties come back in any order."""
    names = [a for a in aliases.split(", ") if a]
    return ", ".join(sorted(names, key=lambda a: (a.split("@")[0], "@" in a, a)))
