"""Aliases: the first model is champion, later ones challengers; promotion and rollback move
the champion, every move is kept, and 'which version served at time T' has an answer."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path

from flows.core.registry.release import read_release, write_release
from flows.core.store.catalog import GLOBAL_SLICE, Catalog
from flows.core.store.rows import AliasChange
from tests.core.store.test_store import run_record


def three_models(tmp_path: Path) -> Catalog:
    catalog = Catalog(tmp_path / "autopipe.duckdb")
    now = datetime(2026, 1, 1, 12, 0)
    for number in range(1, 4):
        catalog.save_run(run_record(f"r{number}", now + timedelta(hours=number), tmp_path))
    return catalog


def champion(catalog: Catalog) -> str | None:
    return catalog.aliases("titanic").get((GLOBAL_SLICE, "champion"))


def promote(catalog: Catalog, version: str, action: str = "promote") -> None:
    time.sleep(0.002)  # events are ordered by time
    catalog.change_alias(AliasChange("titanic", GLOBAL_SLICE, "champion", version, action,
                                     "tester", "because"))


def test_first_model_is_champion_and_later_ones_are_challengers(tmp_path: Path) -> None:
    catalog = three_models(tmp_path)
    assert catalog.aliases("titanic") == {(GLOBAL_SLICE, "champion"): "titanic-r1",
                                          (GLOBAL_SLICE, "challenger"): "titanic-r3"}
    listed = {r["version"]: r["aliases"] for r in catalog.list_models().to_dicts()}
    assert listed == {"titanic-r1": "champion", "titanic-r2": "", "titanic-r3": "challenger"}
    assert catalog.family_of("titanic-r2") == "titanic" and catalog.families() == ["titanic"]


def test_rollback_goes_back_one_champion_at_a_time(tmp_path: Path) -> None:
    catalog = three_models(tmp_path)
    promote(catalog, "titanic-r2")
    promote(catalog, "titanic-r3")
    assert catalog.rollback_target("titanic", GLOBAL_SLICE) == "titanic-r2"
    promote(catalog, "titanic-r2", action="rollback")
    assert champion(catalog) == "titanic-r2"
    # r3 was rolled back from: a second rollback goes further back, not forward to r3.
    assert catalog.rollback_target("titanic", GLOBAL_SLICE) == "titanic-r1"


def test_history_answers_which_version_served_when(tmp_path: Path) -> None:
    catalog = three_models(tmp_path)
    before = datetime.now()
    time.sleep(0.01)
    promote(catalog, "titanic-r2")
    assert catalog.alias_at("titanic", GLOBAL_SLICE, "champion", before) == "titanic-r1"
    assert catalog.alias_at("titanic", GLOBAL_SLICE, "champion", datetime.now()) == "titanic-r2"
    history = catalog.alias_history("titanic").filter(alias="champion")
    assert history["version"].to_list() == ["titanic-r1", "titanic-r2"]
    assert history["replaced"].to_list() == [None, "titanic-r1"]
    audit = catalog.table_counts()["audit_log"]
    assert audit == 3 + 3 + 1  # three registrations, their aliases, one promotion


def test_the_release_file_follows_the_aliases(tmp_path: Path) -> None:
    catalog = three_models(tmp_path)
    path = write_release(catalog, "titanic", tmp_path / "releases")
    assert json.loads(path.read_text())["champions"] == {"global": "titanic-r1"}
    promote(catalog, "titanic-r2")
    release = read_release(write_release(catalog, "titanic", tmp_path / "releases"))
    assert release["champions"] == {"global": "titanic-r2"}
    assert release["artifacts"]["titanic-r2"] == str(tmp_path / "r2")
