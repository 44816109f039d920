"""The ``autopipe`` command: clear errors, nothing written on failure, listings, batch scoring."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from flows.cli.app import run_cli
from flows.core.config import Settings
from flows.core.records.run import RunSummary
from flows.core.registry.model import load_model
from flows.core.store.catalog import Catalog
from tests.conftest import SAMPLES, tree


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run_cli(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


BAD_INPUTS: dict[str, tuple[str | bytes, str, str]] = {
    # file name: (content, expected message (regex), expected hint (regex))
    "empty.csv": ("", "is empty", "header row"),
    "header_only.csv": ("a,y\n", "no data rows", "at least"),
    "garbage.csv": (b"\x00\x9f\x01GIF89a\x02" * 300, "binary data", "export"),
    "utf16.csv": ("a,y\n1,2\n".encode("utf-16"), "not text in a supported encoding",
                  "UTF-8"),
    "ragged.csv": ("a,b,y\n1,2,3\n4,5,6,7,8\n9,10,11\n",
                   "different number of fields|single column", "every row"),
    "wrong_delimiter.csv": ("a,b,y\n1;2;3\n4;5;6\n", "do not match the rest",
                            "one delimiter"),
    "one_class.csv": ("x,y\n" + "".join(f"{i},same\n" for i in range(40)),
                      "1 distinct value", "another target"),
    "all_missing.csv": ("x,y\n" + "".join(f"{i},\n" for i in range(40)),
                        "missing in every row", "choose a column"),
    "no_feature.csv": ("id,y\n" + "".join(f"{i},{i % 2}\n" for i in range(40)),
                       "no usable feature column", "add columns"),
    "truncated.parquet": (b"PAR1" + b"\x15\x00" * 40, "could not read .* as Parquet",
                          "damaged or still being written"),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_is_one_clear_message_and_changes_nothing(
        prefect_api: str, fresh_home: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], name: str) -> None:
    content, message, hint = BAD_INPUTS[name]
    source = tmp_path / name
    if isinstance(content, bytes):
        source.write_bytes(content)
    else:
        source.write_text(content)
    Catalog(Settings().catalog_path).table_counts()  # an existing, empty catalog
    before = {p: p.stat().st_mtime_ns for p in fresh_home.rglob("*") if p.is_file()}
    code, _, err = cli(["run", str(source), "-t", "y", "--budget", "1"], capsys)
    assert code == 2, err
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and re.search(message, error_lines[0]), err
    assert re.search(hint, err.split("hint:", 1)[1]), err
    assert "Traceback" not in err
    after = {p: p.stat().st_mtime_ns for p in fresh_home.rglob("*") if p.is_file()
             if not p.name.endswith(".lock")}
    assert after == {p: t for p, t in before.items() if not p.name.endswith(".lock")}
    assert Catalog(Settings().catalog_path).table_counts()["datasets"] == 0


@pytest.mark.parametrize(("args", "message", "hint"), [
    (["missing.csv", "-t", "y"], "file not found", "check the path"),
    ([str(SAMPLES / "titanic.csv"), "-t", "Survivd"],
     "target column 'Survivd' is not in the table", "did you mean 'survived'?"),
    (["postgresql://nobody@127.0.0.1:1/none?table=t", "-t", "y"], "could not connect",
     "server is running"),
    (["{tmp}/table.xml", "-t", "y"], "unsupported file type", ".parquet"),
    ([str(SAMPLES / "titanic.csv"), "-t", "survived", "--remote", "--dask", "local"],
     "--workers and --dask place the slices of a local run", "autopipe server start"),
])
def test_bad_arguments_fail_before_any_work(
        fresh_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
        message: str, hint: str) -> None:
    (tmp_path / "table.xml").write_text("<table/>")
    code, _, err = cli(["run", *(a.format(tmp=tmp_path) for a in args)], capsys)
    assert code == 2 and message in err and hint in err and "Traceback" not in err
    assert tree(fresh_home) == set()


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


def test_a_failed_run_writes_its_error_and_hint_to_the_outcome_file(tmp_path: Path) -> None:
    from flows.core.records.outcome import RunOutcome

    outcome = tmp_path / "outcome.json"
    code = run_cli(["run", str(tmp_path / "nope.csv"), "-t", "y", "--outcome", str(outcome)])
    assert code == 2
    written = RunOutcome.read(outcome)
    assert written is not None and written.status == "failed" and written.run_id is None
    assert written.error is not None and "file not found" in written.error and written.hint


def test_a_mistyped_option_gets_the_usage_and_a_suggestion_not_a_bug_report(
        tmp_path: Path) -> None:
    command = Path(sys.executable).with_name("autopipe")
    result = subprocess.run([str(command), "run", str(tmp_path / "data.csv"), "-t", "y",
                             "--budjet", "5"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Usage: autopipe run" in result.stderr and "No such option: --budjet" in result.stderr
    assert "did you mean --budget?" in result.stderr
    assert "bug" not in result.stderr and "Traceback" not in result.stderr
    missing = subprocess.run([str(command), "run"], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "Missing argument 'SOURCE'" in missing.stderr


def test_runs_json_lists_the_trained_runs(
        trained: dict[str, RunSummary], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(["runs", "--json"], capsys)
    assert code == 0
    listed = {row["run_id"]: row for row in json.loads(out)}
    for summary in trained.values():
        row = listed[summary.run_id]
        assert row["model_version"] == summary.model_version
        assert row["model_score"] == pytest.approx(summary.metrics[summary.main_metric])


def test_predict_scores_a_file_in_order(
        trained: dict[str, RunSummary], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    version = trained["multiclass"].model_version
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


def test_the_command_starts_without_the_ml_libraries() -> None:
    """Listing runs or models must not pay for scikit-learn, FLAML or BentoML at start-up."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, flows.cli.app; print(sorted(m for m in "
         "('sklearn', 'flaml', 'bentoml', 'prefect', 'torch') if m in sys.modules))"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
