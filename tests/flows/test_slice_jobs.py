"""Slice jobs in the shared home: each taken once, refused by a worker with other code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.core.errors import AutopipeError
from flows.server.slice_jobs import (
    CODE_FILE,
    check_same_code,
    claim_path,
    claimed_jobs,
    code_identity,
)


def test_two_flow_runs_take_every_job_exactly_once(tmp_path: Path) -> None:
    jobs = [tmp_path / f"{i:03d}-s{i}.job" for i in range(1, 6)]
    for job in jobs:
        job.write_bytes(b"job")
    first, second = claimed_jobs(tmp_path, "run-a"), claimed_jobs(tmp_path, "run-b")
    taken = {"run-a": [next(first)], "run-b": [next(second)]}
    taken["run-a"] += list(first)
    taken["run-b"] += list(second)  # nothing left for the late one
    assert taken["run-b"] == [jobs[1]] and taken["run-a"] == [jobs[0], *jobs[2:]]
    assert claim_path(jobs[1]).read_text().split()[2] == "run-b"


def test_a_run_that_is_over_has_nothing_to_take(tmp_path: Path) -> None:
    assert list(claimed_jobs(tmp_path / "removed", "run-a")) == []
    check_same_code(tmp_path / "removed")


def test_a_worker_with_other_code_refuses_the_jobs(tmp_path: Path) -> None:
    (tmp_path / CODE_FILE).write_text(json.dumps(code_identity()))
    check_same_code(tmp_path)
    (tmp_path / CODE_FILE).write_text(json.dumps(code_identity() | {"python": "3.10.0"}))
    with pytest.raises(AutopipeError, match="other code") as error:
        check_same_code(tmp_path)
    assert "3.10.0" in str(error.value) and "install the run's commit" in error.value.hint
