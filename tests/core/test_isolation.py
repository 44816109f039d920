"""The core never imports the orchestration or front-end libraries."""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import flows.core

FORBIDDEN = ("prefect", "textual", "bentoml")
CORE_MODULES = sorted(m.name for m in pkgutil.walk_packages(flows.core.__path__, "flows.core."))


def test_no_core_module_imports_a_front_end() -> None:
    """One fresh interpreter imports every core module and names any that pulls one in."""
    code = "\n".join([
        "import importlib, sys",
        f"for name in {CORE_MODULES!r}:",
        "    importlib.import_module(name)",
        f"    loaded = [m for m in {FORBIDDEN!r} if m in sys.modules]",
        "    if loaded:",
        "        print(name, 'pulled in', loaded)",
        "        break",
    ])
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert len(CORE_MODULES) > 60 and "flows.core.pipeline.fit" in CORE_MODULES
    assert result.stdout.strip() == ""


def test_import_linter_contract_holds() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    command = str(lint) if lint.exists() else shutil.which("lint-imports")
    assert command, "import-linter is part of the dev extra"
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([command], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout
