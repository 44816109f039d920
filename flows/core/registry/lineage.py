"""Where a model came from, beyond its run: the code and the libraries that made it.

Recorded with every model version, so a model can be rebuilt or its behaviour explained
months later: the git commit (when the code runs from a checkout), autopipe's own version,
Python's, and the versions of every library that shapes a prediction.
"""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

LIBRARIES = ("scikit-learn", "lightgbm", "xgboost", "catboost", "flaml", "numpy", "pandas",
             "polars", "duckdb", "sentence-transformers", "torch")


def code_lineage() -> dict[str, Any]:
    return {"git_commit": _git_commit(), "autopipe": _version("autopipe"),
            "python": platform.python_version(),
            "libraries": {name: version for name in LIBRARIES
                          if (version := _version(name)) is not None}}


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    """The checkout's commit, marked '-dirty' when files differ from it; None outside git."""
    root = Path(__file__).resolve().parents[3]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=5,
                               check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if dirty else commit
