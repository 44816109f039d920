"""Model artifacts on disk: one directory per version holding the pipeline and its card.

A version directory is written under a temporary name and renamed into place, so a reader
never sees half a model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importing the model pulls scikit-learn into every CLI command's start-up
    from flows.core.model import FittedModel

CARD_FILE = "card.json"
CARD_MARKDOWN_FILE = "card.md"


def model_version(dataset_name: str, run_id: str) -> str:
    """A version string that is also a valid BentoML tag version: lowercase, [a-z0-9._-]."""
    return f"{model_version_slug(dataset_name)}-{run_id}"


def model_version_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "model"


def save_artifact(model: FittedModel, models_dir: Path, card: dict[str, Any],
                  card_markdown: str) -> Path:
    """Write ``models/<version>/`` with ``model.joblib``, ``card.json`` and the readable
    ``card.md``; return the directory."""
    final = models_dir / model.version
    partial = models_dir / f".{model.version}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    model.save(partial)
    (partial / CARD_FILE).write_text(json.dumps(card, indent=2, default=str))
    (partial / CARD_MARKDOWN_FILE).write_text(card_markdown)
    os.replace(partial, final)
    return final


def read_card(directory: Path) -> dict[str, Any]:
    """A version's card, or an empty one when the file is gone."""
    path = directory / CARD_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def remove_artifact(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
