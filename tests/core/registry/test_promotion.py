"""Promotion and rollback as the CLI and the TUI both call them: the refusals that need no
gate, the challenger alias cleared when it becomes champion, and the release file rewritten
by every move (the gate itself, on real models: tests/flows/test_registry_cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.core.config import Settings
from flows.core.errors import AutopipeError
from flows.core.registry.promotion import promote, rollback
from flows.core.registry.release import make_champion, release_path
from flows.core.store.catalog import GLOBAL_SLICE
from tests.core.store.test_aliases import three_models


def served(settings: Settings) -> dict[str, str]:
    return json.loads(release_path(settings.releases_dir, "titanic").read_text())["champions"]


def test_promoting_the_champion_or_forcing_without_a_reason_is_refused(
        tmp_path: Path) -> None:
    settings, catalog = Settings(home=tmp_path), three_models(tmp_path)
    with pytest.raises(AutopipeError, match="already the champion") as already:
        promote(settings, catalog, "titanic-r1", None, False, "tester")
    assert "autopipe models" in already.value.hint
    with pytest.raises(AutopipeError, match="needs a reason") as unreasoned:
        promote(settings, catalog, "titanic-r3", None, True, "tester")
    assert "--reason" in unreasoned.value.hint
    assert catalog.aliases("titanic")[(GLOBAL_SLICE, "champion")] == "titanic-r1"


def test_the_challenger_that_becomes_champion_is_no_longer_challenger(tmp_path: Path) -> None:
    settings, catalog = Settings(home=tmp_path), three_models(tmp_path)
    make_champion(catalog, "titanic", "titanic-r3", "promote", "tester", "better", {},
                  settings.releases_dir)
    assert catalog.aliases("titanic") == {(GLOBAL_SLICE, "champion"): "titanic-r3"}
    assert served(settings) == {"global": "titanic-r3"}


def test_rollback_restores_the_previous_champion_and_its_release(tmp_path: Path) -> None:
    settings, catalog = Settings(home=tmp_path), three_models(tmp_path)
    with pytest.raises(AutopipeError, match="no earlier champion"):
        rollback(settings, catalog, "titanic", GLOBAL_SLICE, None, "tester")
    make_champion(catalog, "titanic", "titanic-r2", "promote", "tester", None, {},
                  settings.releases_dir)
    assert rollback(settings, catalog, "titanic", GLOBAL_SLICE, "bad answers",
                    "tester") == ("titanic-r2", "titanic-r1")
    assert served(settings) == {"global": "titanic-r1"}
    moves = catalog.alias_history("titanic").filter(alias="champion")
    assert moves["action"].to_list()[-1] == "rollback"
    assert moves["reason"].to_list()[-1] == "bad answers"

