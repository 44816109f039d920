"""Vertical slices end to end: penguins by island (Biscoe 168 rows, Dream 124, Torgersen 52),
trained per slice by the real flow, registered, and routed by a real ``bentoml serve``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from flows.core.config import Settings
from flows.core.data.slices import champion_of
from flows.core.records.run import RunSummary, SliceSummary
from flows.core.registry.model import load_model
from flows.core.store.catalog import Catalog
from flows.server.local_server import free_port
from flows.server.service import start_service, stop_service, wait_ready
from tests.conftest import SAMPLES, TEST_BUDGET_S

OWN_MODEL = {"island=Biscoe", "island=Dream"}


@pytest.fixture(scope="module", autouse=True)
def slice_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """These runs get their own home: the session's catalog keeps only the sample runs
    other tests read as the newest."""
    home = tmp_path_factory.mktemp("slices-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTOPIPE_HOME", str(home))
        yield home


@pytest.fixture(scope="module")
def sliced(prefect_api: str) -> RunSummary:
    from flows.train_flow import train

    return train(source=str(SAMPLES / "penguins.csv"), target="species",
                 budget_s=TEST_BUDGET_S, name="penguins_by_island", seed=0,
                 slice_by=["island"], min_slice_rows=100)


def penguins(island: str, rows: int = 3) -> list[dict[str, Any]]:
    frame = pd.read_csv(SAMPLES / "penguins.csv").drop(columns=["species"])
    return json.loads(frame[frame["island"] == island].head(rows).to_json(orient="records"))


def test_big_slices_get_their_own_model_and_small_ones_the_global(
        sliced: RunSummary) -> None:
    results = {s.slice: s for s in sliced.slices}
    assert set(results) == OWN_MODEL | {"island=Torgersen"}
    torgersen = results["island=Torgersen"]
    assert torgersen.model_version is None and "fewer than 100" in torgersen.reason
    assert torgersen.champion_version == sliced.model_version
    for name in OWN_MODEL:
        result = results[name]
        assert result.model_version.startswith(sliced.model_version + "-island-")
        assert set(result.metrics) == {"slice", "global"}
        winner = champion_of(result.metrics, "log_loss")  # the main multiclass metric
        assert result.champion_version == (result.model_version if winner == "slice"
                                              else sliced.model_version)


def test_slice_models_are_registered_with_their_slice_and_alias(
        sliced: RunSummary) -> None:
    catalog = Catalog(Settings().catalog_path)
    stored = catalog.slice_results(sliced.run_id)
    assert sorted(stored["slice"].to_list()) == sorted(OWN_MODEL | {"island=Torgersen"})
    aliases = catalog.aliases("penguins_by_island")
    for result in sliced.slices:
        if result.model_version:
            assert catalog.model(result.model_version).slice == result.slice
            assert aliases[(result.slice, "champion")] == result.champion_version
    assert ("island=Torgersen", "champion") not in aliases
    model = load_model(catalog.model(next(
        s.model_version for s in sliced.slices if s.slice == "island=Biscoe"))
        .artifact_path)
    assert "island" not in model.input_schema  # one value in the slice: nothing to learn
    release = json.loads(Path(sliced.release).read_text())
    assert set(release["champions"]) == OWN_MODEL | {"global"}
    assert "Slices" in Path(sliced.report).read_text()


@pytest.mark.slow
def test_the_service_routes_each_record_to_its_slice(sliced: RunSummary,
                                                     tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    records = penguins("Biscoe", 2) + penguins("Torgersen", 1) + penguins("Dream", 2)
    records.append(dict(records[0], island="Atlantis"))
    process = start_service(Settings(), Path(sliced.release), "127.0.0.1", port,
                            tmp_path / "service.log")
    try:
        wait_ready(process, base_url, timeout_s=90)
        response = httpx.post(f"{base_url}/predict", json={"records": records}, timeout=30)
    finally:
        stop_service(process)
    assert response.status_code == 200, response.text
    answer = response.json()
    champions = json.loads(Path(sliced.release).read_text())["champions"]
    served = [(r["slice"], r["model_version"]) for r in answer["results"]]
    assert served == [("island=Biscoe", champions["island=Biscoe"])] * 2 + [
        ("global", champions["global"])] + [("island=Dream", champions["island=Dream"])] * 2 + [
        ("global", champions["global"])]
    assert "no model for slice 'island=Atlantis': answered by the global model" \
        in answer["notes"]
    assert "no model for slice 'island=Torgersen': answered by the global model" \
        in answer["notes"]
    assert answer["model_version"] is None and len(answer["model_versions"]) >= 2


POLICIES = Path(__file__).resolve().parents[1] / "data" / "policies"


@pytest.fixture(scope="module")
def governed(prefect_api: str) -> RunSummary:
    """Titanic by class: third class under a readable, PII-free, recall-floor policy with an
    impossible fairness limit; first and second class under a monotone-fare policy."""
    from flows.train_flow import train

    return train(source=str(SAMPLES / "titanic.csv"), target="survived",
                 budget_s=TEST_BUDGET_S, max_models=2, name="titanic_by_class", seed=0,
                 slice_by=["pclass"], min_slice_rows=150,
                 policies=[str(POLICIES / "third_class.yaml"),
                           str(POLICIES / "first_class.yaml")])


def slice_model(summary: RunSummary, name: str) -> tuple[SliceSummary, Any]:
    result = next(s for s in summary.slices if s.slice == name)
    assert result.model_version is not None
    return result, load_model(Catalog(Settings().catalog_path).model(
        result.model_version).artifact_path)


def test_each_policy_rule_is_enforced(governed: RunSummary) -> None:
    third, model = slice_model(governed, "pclass=3")
    assert third.policy == "third_class"
    assert model.learner == "linear"  # no forbidden learner
    assert not {"name", "ticket"} & set(model.input_schema)  # PII and a dropped column
    assert model.threshold is not None and model.policy["min_recall"] == 0.85
    assert {b["rule"] for b in third.breaches} >= {"demographic_parity"}
    for name in ("pclass=1", "pclass=2"):
        result, governed_model = slice_model(governed, name)
        assert result.policy == "first_class"
        assert governed_model.learner.startswith("lgbm")
        assert "name" not in governed_model.input_schema
        assert not [b for b in result.breaches if b["rule"] == "monotone"]


def test_a_breach_blocks_promotion_and_opens_an_alert(governed: RunSummary) -> None:
    third, _ = slice_model(governed, "pclass=3")
    assert third.champion_version == governed.model_version  # the global model serves
    catalog = Catalog(Settings().catalog_path)
    assert catalog.aliases("titanic_by_class")[("pclass=3", "champion")] == \
        governed.model_version
    alerts = catalog.alerts().filter(model_version=third.model_version)
    assert set(alerts["kind"]) == {"policy_breach"} and set(alerts["status"]) == {"open"}
    assert set(alerts["statistic"]) == {b["rule"] for b in third.breaches}


@pytest.mark.slow
def test_slices_train_on_a_local_dask_cluster(prefect_api: str) -> None:
    from flows.train_flow import train

    summary = train(source=str(SAMPLES / "penguins.csv"), target="species",
                    budget_s=TEST_BUDGET_S, name="penguins_on_dask", seed=0,
                    slice_by=["island"], min_slice_rows=100, workers=2, dask="local")
    trained = {s.slice for s in summary.slices if s.model_version}
    assert trained == OWN_MODEL
    assert {s.stage for s in summary.stages} >= {f"slice {n}" for n in OWN_MODEL}
