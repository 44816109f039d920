"""Live run files: current stage and best score while running, gone when the run ends,
'stopped' when the process died."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.core.live_runs import LiveRun, live_runs
from flows.core.progress import ProgressEvent, emit


def test_a_run_shows_its_stage_and_best_score_then_disappears(tmp_path: Path) -> None:
    with LiveRun(tmp_path, "run1", {"source": "t.csv", "target": "y"}):
        emit(ProgressEvent("search", "started", budget_s=10))
        emit(ProgressEvent("search", "running", elapsed_s=2.0, budget_s=10, best_score=0.41,
                           best_learner="lgbm", metric="log_loss"))
        [state] = live_runs(tmp_path)
        assert (state["status"], state["stage"], state["source"]) == ("running", "search",
                                                                     "t.csv")
        assert state["best"] == {"learner": "lgbm", "metric": "log_loss", "score": 0.41,
                                 "elapsed_s": 2.0, "budget_s": 10}
    assert live_runs(tmp_path) == []


def test_a_failed_run_leaves_nothing_and_a_dead_one_is_stopped(tmp_path: Path) -> None:
    with pytest.raises(ValueError), LiveRun(tmp_path, "bad", {"target": "y"}):
        emit(ProgressEvent("ingest", "started"))
        raise ValueError("no column 'y'")
    assert live_runs(tmp_path) == []
    (tmp_path / "ghost.json").write_text(json.dumps(
        {"run_id": "ghost", "pid": 2**22 + 12345, "status": "running",
         "started_at": "2026-01-01T00:00:00"}))
    states = {s["run_id"]: s["status"] for s in live_runs(tmp_path)}
    assert states == {"ghost": "stopped"}
