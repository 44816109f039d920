"""The ``autopipe`` command: clear errors, nothing written on failure, listings, batch scoring."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from flows.cli import run_cli
from flows.core.config import Settings
from flows.core.model import load_model
from flows.core.store import Catalog
from tests.conftest import SAMPLES, tree


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run_cli(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("make_args", "message", "hint"), [
    (lambda d: [str(d / "missing.csv"), "-t", "y"], "file not found", "check the path"),
    (lambda d: [str(SAMPLES / "titanic.csv"), "-t", "Survivd"],
     "target column 'Survivd' is not in the table", "did you mean 'survived'?"),
    (lambda d: [str(d / "garbage.parquet"), "-t", "y"], "could not read", "damaged"),
    (lambda d: [str(d / "empty.csv"), "-t", "y"], "is empty", "header row"),
])
def test_bad_input_is_one_clear_message_and_writes_nothing(
        fresh_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        make_args: Any, message: str, hint: str) -> None:
    (tmp_path / "garbage.parquet").write_bytes(b"\x89PNG\x00\x01" * 500)
    (tmp_path / "empty.csv").write_text("")
    before = tree(fresh_home)
    code, _, err = cli(["run", *make_args(tmp_path), "--budget", "1"], capsys)
    assert code == 2
    assert message in err and hint in err
    assert "Traceback" not in err
    assert tree(fresh_home) == before


def test_a_run_that_fails_mid_way_leaves_the_store_as_it_was(
        prefect_api: str, fresh_home: Path, tmp_path: Path) -> None:
    """A one-class target passes the preflight and fails inside the flow, after ingest."""
    source = tmp_path / "one_class.csv"
    source.write_text("x,y\n" + "".join(f"{i},same\n" for i in range(50)))
    from flows.train_flow import train

    with pytest.raises(Exception, match="1 distinct value"):
        train(source=str(source), target="y", budget_s=1)
    assert not any(p.suffix == ".parquet" for p in fresh_home.rglob("*"))
    assert Catalog(Settings().catalog_path).table_counts()["runs"] == 0


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    command = Path(sys.executable).with_name("autopipe")
    result = subprocess.run([str(command), "run", str(tmp_path / "nope.csv"), "-t", "y"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "error: file not found" in result.stderr and "Traceback" not in result.stderr


def test_runs_json_lists_the_trained_runs(
        trained: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(["runs", "--json"], capsys)
    assert code == 0
    listed = {row["run_id"]: row for row in json.loads(out)}
    for summary in trained.values():
        row = listed[summary["run_id"]]
        assert row["model_version"] == summary["model_version"]
        assert row["model_score"] == pytest.approx(summary["metrics"][summary["main_metric"]])


def test_predict_scores_a_file_in_order(
        trained: dict[str, dict[str, Any]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    version = trained["multiclass"]["model_version"]
    source = tmp_path / "penguins_to_score.csv"
    original = pd.read_csv(SAMPLES / "penguins.csv").drop(columns=["species"]).head(40)
    original.to_csv(source, index=False)
    out_file = tmp_path / "scored.csv"
    code, _, err = cli(["predict", str(source), "--out", str(out_file), "--model", version],
                       capsys)
    assert code == 0, err
    scored = pd.read_csv(out_file)
    assert len(scored) == 40
    assert list(scored.columns) == ["prediction", "Adelie", "Chinstrap", "Gentoo"]
    assert scored[["Adelie", "Chinstrap", "Gentoo"]].sum(axis=1).round(6).eq(1).all()
    model = load_model(Catalog(Settings().catalog_path).model(version).artifact_path)
    direct = model.predict_frame(model.validate_frame(original))
    assert scored["prediction"].tolist() == direct["prediction"].tolist()


def test_predict_without_any_model_says_how_to_train(
        fresh_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(["predict", str(SAMPLES / "penguins.csv"), "--out",
                            str(tmp_path / "o.csv")], capsys)
    assert code == 2 and "no model has been registered" in err and "autopipe run" in err
