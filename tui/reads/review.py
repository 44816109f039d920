"""What the Review screen shows, read from the catalog: the pending queue as rows, and the
model behind an entry (to explain it and to know its classes).

Plain functions called from thread workers. A registered artifact never changes, so each
version is loaded once per process: moving through the queue must not reload a model per
keypress.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from flows.core.registry.model import FittedModel, load_model
from flows.core.store.catalog import Catalog

_load = functools.lru_cache(maxsize=16)(load_model)


def entry_key(request_id: str, index: int) -> str:
    return f"{request_id}:{index}"


def load_queue(catalog: Catalog) -> list[dict[str, Any]]:
    """Pending entries, most urgent first, each with its record and answer parsed."""
    rows = catalog.review_queue(pending_only=True).to_dicts()
    for row in rows:
        result = json.loads(row["result"]) if row["result"] else {}
        row["key"] = entry_key(row["request_id"], row["idx"])
        row["record"] = json.loads(row["features"]) if row["features"] else {}
        row["prediction"] = result.get("prediction")
        row["probabilities"] = result.get("probabilities") or {}
    return rows


def load_entry_model(catalog: Catalog, version: str) -> FittedModel:
    """The model version that answered an entry (cached per artifact)."""
    return _load(Path(catalog.model(version).artifact_path))
