"""Model artifacts on disk: one directory per version holding the pipeline and its card.

A version directory is written under a temporary name and renamed into place, so a reader
never sees half a model.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from flows.core.files import partial_path
from flows.core.records.card import ModelCard

if TYPE_CHECKING:  # importing the model pulls scikit-learn into every CLI command's start-up
    import pandas as pd
    import polars as pl

    from flows.core.registry.model import FittedModel

CARD_FILE = "card.json"
CARD_MARKDOWN_FILE = "card.md"
HELD_OUT_FILE = "held_out.parquet"
REFERENCE_FILE = "reference.parquet"
FRESH_FILE = "fresh_held_out.parquet"
"""A retrained challenger's fresh labelled rows: what its promotion gate is judged on."""
REFERENCE_ROWS = 5_000


def model_version(dataset_name: str, run_id: str) -> str:
    """A version string that is also a valid BentoML tag version: lowercase, [a-z0-9._-]."""
    return f"{model_version_slug(dataset_name)}-{run_id}"


def model_version_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "model"


def save_artifact(model: FittedModel, models_dir: Path, card: ModelCard,
                  card_markdown: str, held_out: pl.DataFrame | None = None,
                  reference: pd.DataFrame | None = None) -> Path:
    """Write ``models/<version>/`` with ``model.joblib``, ``card.json``, the readable
    ``card.md``, the held-out predictions the run report draws, and a sample of the training
    rows the monitor measures drift against; return the directory."""
    final = models_dir / model.version
    partial = partial_path(final)
    shutil.rmtree(partial, ignore_errors=True)
    model.save(partial)
    (partial / CARD_FILE).write_text(card.model_dump_json(indent=2, fallback=str))
    (partial / CARD_MARKDOWN_FILE).write_text(card_markdown)
    if held_out is not None:
        held_out.write_parquet(partial / HELD_OUT_FILE)
    if reference is not None:
        reference.to_parquet(partial / REFERENCE_FILE, index=False)
    os.replace(partial, final)
    return final


def read_held_out(directory: Path) -> pl.DataFrame | None:
    """A version's held-out predictions, or None for a version saved without them."""
    import polars as pl

    path = directory / HELD_OUT_FILE
    return pl.read_parquet(path) if path.exists() else None


def read_reference(directory: Path) -> pd.DataFrame | None:
    """A version's training reference rows, or None for a version saved without them."""
    import pandas as pd

    path = directory / REFERENCE_FILE
    return pd.read_parquet(path) if path.exists() else None


def save_fresh_rows(directory: Path, rows: pl.DataFrame) -> None:
    partial = partial_path(directory / FRESH_FILE)
    rows.write_parquet(partial)
    os.replace(partial, directory / FRESH_FILE)


def read_fresh_rows(directory: Path) -> pl.DataFrame | None:
    """A retrained version's fresh rows, or None for a version that has none."""
    import polars as pl

    path = directory / FRESH_FILE
    return pl.read_parquet(path) if path.exists() else None


def read_card(directory: Path) -> ModelCard:
    """A version's card, or an empty one when the file is gone."""
    path = directory / CARD_FILE
    return ModelCard.model_validate_json(path.read_bytes()) if path.exists() else ModelCard()


def remove_artifact(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
