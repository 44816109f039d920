"""Live run files: current stage and best score while running, gone when the run ends,
'stopped' when the process died."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest

from flows.core.live_runs import LiveBest, LiveRun, LiveState, live_runs, remove_created
from flows.core.progress import ProgressEvent, emit


def test_a_run_shows_its_stage_and_best_score_then_disappears(tmp_path: Path) -> None:
    with LiveRun(tmp_path, "run1", source="t.csv", target="y"):
        emit(ProgressEvent("search", "started", budget_s=10))
        emit(ProgressEvent("search", "running", elapsed_s=2.0, budget_s=10, best_score=0.41,
                           best_learner="lgbm", metric="log_loss"))
        [state] = live_runs(tmp_path)
        assert (state.status, state.stage, state.source) == ("running", "search", "t.csv")
        assert state.best == LiveBest(learner="lgbm", metric="log_loss", score=0.41,
                                      elapsed_s=2.0, budget_s=10)
    assert live_runs(tmp_path) == []


def test_a_failed_run_leaves_nothing_and_a_dead_one_is_stopped(tmp_path: Path) -> None:
    with pytest.raises(ValueError), LiveRun(tmp_path, "bad", target="y"):
        emit(ProgressEvent("ingest", "started"))
        raise ValueError("no column 'y'")
    assert live_runs(tmp_path) == []
    (tmp_path / "ghost.json").write_text(json.dumps(
        {"run_id": "ghost", "pid": 2**22 + 12345, "status": "running",
         "started_at": "2026-01-01T00:00:00"}))
    states = {s.run_id: s.status for s in live_runs(tmp_path)}
    assert states == {"ghost": "stopped"}


def test_a_stopped_run_loses_what_it_created_and_nothing_else(tmp_path: Path) -> None:
    snapshot, model = tmp_path / "datasets" / "abc.parquet", tmp_path / "models" / "v1"
    partial, other = tmp_path / "models" / ".v2.partial-99", tmp_path / "models" / "v0"
    for directory in (model, partial, other):
        directory.mkdir(parents=True)
    snapshot.parent.mkdir()
    snapshot.write_text("rows")
    (model / "model.joblib").write_text("m")
    remove_created(LiveState(run_id="r", pid=1, created=[
        str(snapshot), str(model), str(tmp_path / "models" / "v2"),
        str(tmp_path / "never-made")]))
    assert not snapshot.exists() and not model.exists() and not partial.exists()
    assert other.exists()


def test_only_a_process_of_this_host_can_be_seen_to_have_died(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    for run_id, host in (("here", socket.gethostname()), ("elsewhere", "another-machine")):
        (tmp_path / f"{run_id}.json").write_text(json.dumps(
            {"run_id": run_id, "pid": dead.pid, "host": host, "status": "running"}))
    assert {s.run_id: s.status for s in live_runs(tmp_path)} == {
        "here": "stopped", "elsewhere": "running"}
