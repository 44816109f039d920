"""`autopipe package`: a real, offline `bentoml build` of a release, served by `bentoml serve`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import bentoml
import httpx
import pytest

from flows.core.config import Settings
from flows.core.records.run import RunSummary
from flows.core.store.catalog import Catalog
from flows.server.environment import tool_environment
from flows.server.local_server import free_port
from flows.server.service import stop_service, wait_ready
from tests.bentos.test_service import expected, records


@pytest.fixture(scope="module")
def bento_tag(trained: dict[str, RunSummary], tmp_path_factory: pytest.TempPathFactory,
              ) -> str:
    from bentos.package import package_release

    return package_release(Catalog(Settings().catalog_path), "titanic",
                           tmp_path_factory.mktemp("bento-builds"))


def test_the_bento_carries_the_release_its_models_and_pinned_requirements(
        bento_tag: str, trained: dict[str, RunSummary]) -> None:
    bento = bentoml.get(bento_tag)
    version = trained["binary"].model_version
    assert bento_tag.startswith("autopipe-titanic:") and bento.info.labels["champion"] == version
    source = Path(bento.path) / "src"
    release = json.loads((source / "release" / "release.json").read_text())
    assert release["champions"] == {"global": version}
    assert release["artifacts"] == {version: f"models/{version}"}
    assert (source / "release" / "models" / version / "model.joblib").exists()
    requirements = (Path(bento.path) / "env" / "python" / "requirements.txt").read_text()
    assert "scikit-learn==1.9.1" in requirements and "prefect" not in requirements


@pytest.mark.slow
def test_bentoml_serve_of_the_bento_answers_like_the_model(
        bento_tag: str, trained: dict[str, RunSummary], tmp_path: Path) -> None:
    from flows.core.registry.model import load_model

    port = free_port()
    bentoml_cli = Path(sys.executable).with_name("bentoml")
    with (tmp_path / "serve.log").open("ab") as log:
        process = subprocess.Popen(
            [str(bentoml_cli), "serve", bento_tag, "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path, env=tool_environment(Settings()) | {"PATH": "/usr/bin:/bin"},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_ready(process, f"http://127.0.0.1:{port}", timeout_s=90)
        answer = httpx.post(f"http://127.0.0.1:{port}/predict", json={"records": records()},
                            timeout=30).json()
    finally:
        stop_service(process)
    model = load_model(Catalog(Settings().catalog_path).model(
        trained["binary"].model_version).artifact_path)
    assert [r["prediction"] for r in answer["results"]] == expected(model)[
        "prediction"].tolist()


def test_containerize_without_docker_says_so_and_prints_the_command(
        capsys: pytest.CaptureFixture[str]) -> None:
    from flows.cli.app import run_cli

    code = run_cli(["containerize", "autopipe-titanic:v1"])
    err = capsys.readouterr().err
    assert code == 2 and "no Docker engine" in err
    assert "bentoml containerize autopipe-titanic:v1" in err
