"""The architecture page and the README name modules that exist: a move that forgets them
fails here."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = (ROOT / "docs" / "architecture.md", ROOT / "README.md")
CORE_PACKAGES = ("data", "preparation", "training", "pipeline", "evaluation", "policy",
                 "registry", "serving", "monitoring", "reports", "store")
PATH = re.compile(r"(?<![\w/.])((?:flows|tui|bentos|benchmarks)/[\w/]+\.py)")
CORE_PATH = re.compile(r"(?<![\w/.])((?:" + "|".join(CORE_PACKAGES) + r")/\w+\.py)")
DOTTED = re.compile(r"`((?:flows|tui|bentos)(?:\.\w+)+)")


def named(pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    return sorted({(doc.name, m) for doc in DOCS for m in pattern.findall(doc.read_text())})


@pytest.mark.parametrize(("doc", "path"), named(PATH))
def test_a_named_file_exists(doc: str, path: str) -> None:
    assert (ROOT / path).is_file(), f"{doc} names {path}, which does not exist"


@pytest.mark.parametrize(("doc", "path"), named(CORE_PATH))
def test_a_named_core_module_exists(doc: str, path: str) -> None:
    assert (ROOT / "flows" / "core" / path).is_file(), f"{doc} names {path} (in flows/core/)"


@pytest.mark.parametrize(("doc", "name"), named(DOTTED))
def test_a_named_module_or_attribute_exists(doc: str, name: str) -> None:
    module, attributes = name, []
    while importlib.util.find_spec(module) is None:
        module, _, attribute = module.rpartition(".")
        attributes.insert(0, attribute)
        assert module, f"{doc} names {name}, which is no module"
    value = importlib.import_module(module)
    for attribute in attributes:
        assert hasattr(value, attribute), f"{doc} names {name}: {module} has no {attribute}"
        value = getattr(value, attribute)


def test_the_documents_name_modules_at_all() -> None:
    assert len(named(PATH)) + len(named(CORE_PATH)) > 20 and named(DOTTED)
