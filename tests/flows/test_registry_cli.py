"""Two real models of one dataset: warm start, the promotion gate, promotion, rollback, the
release file and the audit log, through the ``autopipe`` command."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.cli.app import run_cli
from flows.core.config import Settings
from flows.core.records.run import RunSummary
from flows.core.registry.artifacts import read_card
from flows.core.registry.release import read_release, release_path
from flows.core.serving.live_release import CHECK_EVERY_S, LiveRelease
from flows.core.store.catalog import GLOBAL_SLICE, Catalog
from tests.conftest import SAMPLE_RUNS


@pytest.fixture(scope="module")
def two_versions(prefect_api: str, tmp_path_factory: pytest.TempPathFactory,
                 ) -> Iterator[list[RunSummary]]:
    """penguins trained twice in a home of its own: the first run's model is champion."""
    from flows.train_flow import train

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTOPIPE_HOME", str(tmp_path_factory.mktemp("registry") / "home"))
        path, target = SAMPLE_RUNS["multiclass"]
        yield [train(source=str(path), target=target, budget_s=2.0, seed=0, max_models=2)
               for _ in range(2)]


@pytest.fixture
def home(two_versions: list[RunSummary], monkeypatch: pytest.MonkeyPatch) -> Path:
    return Settings().root


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run_cli(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def served(live: LiveRelease) -> str:
    """The version a service following the release answers with (it checks once a second)."""
    time.sleep(CHECK_EVERY_S)
    return live.current().model_for(None)[1].version


def champion() -> str | None:
    return Catalog(Settings().catalog_path).aliases("penguins").get((GLOBAL_SLICE, "champion"))


def test_the_second_run_starts_from_the_champions_configurations(
        two_versions: list[RunSummary], home: Path) -> None:
    catalog = Catalog(Settings().catalog_path)
    first, second = (read_card(catalog.model(r.model_version).artifact_path)
                     for r in two_versions)
    assert first.warm_started_from is None
    assert first.integration is not None and second.integration is not None
    assert second.training is not None
    members = first.integration.members
    assert second.warm_started_from == [f"champion_{name}" for name in members]
    fitted = [fit.name for fit in second.training.portfolio]
    assert fitted[:len(members)] == second.warm_started_from  # fitted first
    assert second.configurations[fitted[0]].params == \
        first.configurations[members[0]].params
    assert second.integration.reason


def test_gate_refuses_then_force_promotes_then_rollback_restores(
        two_versions: list[RunSummary], home: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = (r.model_version for r in two_versions)
    code, out, _ = cli(["models", "--json"], capsys)
    listed = {m["version"]: m for m in json.loads(out)}
    assert code == 0 and listed[first]["aliases"] == "champion"
    assert listed[second]["aliases"] == "challenger"
    assert listed[second]["lineage"]["libraries"]["scikit-learn"]
    assert listed[second]["lineage"]["seed"] == 0

    live = LiveRelease(release_path(Settings().releases_dir, "penguins"))
    assert served(live) == first

    monkeypatch.setenv("AUTOPIPE_REGISTRY__PROMOTION_MARGIN", "100")  # no model clears it
    code, _, err = cli(["promote", second], capsys)
    assert code == 2 and "does not beat the champion" in err and "held-out rows" in err
    assert champion() == first
    code, _, err = cli(["promote", second, "--force"], capsys)
    assert code == 2 and "needs a reason" in err
    code, _, err = cli(["promote", second, "--force", "--reason", "new data"], capsys)
    assert code == 0 and champion() == second
    release = read_release(release_path(Settings().releases_dir, "penguins"))
    assert release["champions"] == {"global": second} and release["challengers"] == {}
    assert served(live) == second  # the running service follows without a restart

    code, _, err = cli(["rollback", "--reason", "bad answers"], capsys)
    assert code == 0 and champion() == first and f"{second} -> {first}" in err
    release = read_release(release_path(Settings().releases_dir, "penguins"))
    assert release["champions"] == {"global": first}
    assert served(live) == first
    code, _, err = cli(["rollback"], capsys)
    assert code == 2 and "no earlier champion" in err

    path, _ = SAMPLE_RUNS["multiclass"]
    code, _, err = cli(["predict", str(path), "--out", str(home / "scored.csv")], capsys)
    assert code == 0 and f"by {first}" in err  # batch scoring uses the champion

    history = Catalog(Settings().catalog_path).alias_history("penguins")
    moves = history.filter(alias="champion")[["version", "action", "reason"]].rows()
    assert moves == [(first, "register", "first model of this dataset"),
                     (second, "force-promote", "new data"), (first, "rollback", "bad answers")]
