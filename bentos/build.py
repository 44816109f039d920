"""Registry artifacts -> the BentoML model store, where the service loads them from.

The model store lives under BENTOML_HOME (``<AUTOPIPE_HOME>/bentoml``), never inside what a
Bento includes.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import bentoml

from flows.core.model import ARTIFACT_FILE

MODEL_NAME = "autopipe-model"


def model_tag(version: str) -> str:
    return f"{MODEL_NAME}:{version}"


def import_model(artifact_dir: Path, version: str, labels: dict[str, str]) -> str:
    """Copy a registered model into the BentoML store; return its tag."""
    with bentoml.models.create(model_tag(version), labels=labels) as model_ref:
        shutil.copy2(artifact_dir / ARTIFACT_FILE, model_ref.path_of(ARTIFACT_FILE))
    return model_tag(version)


def remove_model(version: str) -> None:
    """Undo :func:`import_model` (used when a run fails after publishing)."""
    with contextlib.suppress(bentoml.exceptions.NotFound):
        bentoml.models.delete(model_tag(version))
