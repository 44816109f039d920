"""Slices side by side: one run with 8 slices, trained by 1 and by 2 workers.

Generates an 8-segment table (binary target whose rule differs per segment), then in one
fresh home (one Prefect server, started before the timed runs):
- local: ``autopipe run --slice-by segment --workers N`` (slices in N local processes);
- server: ``autopipe server start --workers N`` then ``autopipe run ... --remote`` (the train
  deployment on the run worker, each slice a train-slice flow run on one of N slice workers).
It prints each run's wall time, the slice phase (what the run spent beyond its global
stages), the speed-up, and for the server runs the orchestration overhead: submit to start
of the parent run, and per slice flow run its wait before starting and its time beyond the
slice's own training. The slices' budget is the same in every run, so the speed-up is the
parallelism, not less search.

    python benchmarks/workers.py [--rows-per-slice 600] [--budget 16] [--mode local|server|both]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

SLICES = 8
AUTOPIPE = Path(sys.executable).with_name("autopipe")


def generate(path: Path, rows_per_slice: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    parts = []
    for index in range(SLICES):
        rows = rows_per_slice
        x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
        weight = np.cos(index)  # each segment leans on the features differently
        logit = weight * x1 + (1 - weight) * x2 + 0.3 * index - 1
        parts.append(pl.DataFrame({
            "segment": [f"s{index}"] * rows, "x1": x1, "x2": x2,
            "x3": rng.normal(size=rows), "colour": rng.choice(["r", "g", "b"], rows),
            "target": (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)}))
    pl.concat(parts).write_csv(path)


def run(home: Path, data: Path, budget: float, workers: int, remote: bool) -> dict[str, Any]:
    started = time.perf_counter()
    where = ["--remote"] if remote else ["--workers", str(workers)]
    result = subprocess.run(
        [str(AUTOPIPE), "run", str(data), "-t", "target", "--slice-by", "segment",
         "--budget", str(budget), "--min-slice-rows", "100", "--json", *where],
        capture_output=True, text=True, check=False, env=environment(home))
    if result.returncode != 0:
        sys.exit(result.stderr[-3000:])
    summary: dict[str, Any] = json.loads(result.stdout)
    summary["wall_s"] = time.perf_counter() - started
    return summary


def environment(home: Path) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")} \
        | {"AUTOPIPE_HOME": str(home)}


def slice_phase(summary: dict[str, Any]) -> float:
    """What the run spent beyond its global stages: submitting, training, gathering slices."""
    stages = summary["stages"]
    global_walls = sum(s["wall_s"] for s in stages if not s["stage"].startswith("slice "))
    return float(summary["duration_s"]) - global_walls


def orchestration(url: str, summary: dict[str, Any]) -> str:
    """The server's view of the last remote run: waits and overheads of its flow runs."""
    os.environ["PREFECT_API_URL"] = url  # before Prefect is imported, which reads it once
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    training = sum(s["wall_s"] for s in summary["stages"] if s["stage"].startswith("slice "))
    with get_client(sync_client=True) as client:
        parent = client.read_flow_run(summary["flow_run_id"])
        children = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent.id])))
    started = [r for r in children if r.start_time and r.created  # a cancelled run has one
               and r.total_run_time.total_seconds() > 0]
    waits = [(r.start_time - r.created).total_seconds() for r in started]  # type: ignore[operator]
    running = sum(r.total_run_time.total_seconds() for r in started)
    parent_wait = (parent.start_time - parent.created).total_seconds() \
        if parent.start_time and parent.created else float("nan")
    states = Counter(r.state.name for r in children if r.state)
    return (f"  parent: submitted to running {parent_wait:.1f} s; {len(children)} slice flow "
            f"runs submitted, {len(started)} ran ({dict(states)}: runs no worker had taken "
            f"when every slice was taken are cancelled): each waited {min(waits):.1f}-"
            f"{max(waits):.1f} s from submission "
            f"to running (worker poll, new process, imports); together they ran "
            f"{running:.1f} s for {training:.1f} s of slice training")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-per-slice", type=int, default=600)
    parser.add_argument("--budget", type=float, default=16.0)
    parser.add_argument("--mode", choices=["local", "server", "both"], default="both")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="autopipe-bench-workers-"))
    data = work / "segments.csv"
    generate(data, args.rows_per_slice)
    home = work / "home"
    print(f"{SLICES} slices x {args.rows_per_slice} rows, budget {args.budget:g} s")
    modes = ["local", "server"] if args.mode == "both" else [args.mode]
    try:
        for mode in modes:
            phases = {}
            for workers in (1, 2):
                server = ["--workers", str(workers)] if mode == "server" else ["--workers", "0"]
                started = subprocess.run([str(AUTOPIPE), "server", "start", *server],
                                         check=True, capture_output=True, text=True,
                                         env=environment(home))
                summary = run(home, data, args.budget, workers, remote=mode == "server")
                phases[workers] = slice_phase(summary)
                slices = [s for s in summary["stages"] if s["stage"].startswith("slice ")]
                print(f"{mode} workers={workers}: run {summary['wall_s']:.1f} s (flow "
                      f"{summary['duration_s']:.1f} s), slice phase {phases[workers]:.1f} s, "
                      f"slices trained {len(slices)} (sum of their walls "
                      f"{sum(s['wall_s'] for s in slices):.1f} s)", flush=True)
                if mode == "server":
                    print(orchestration(started.stdout.strip().splitlines()[-1], summary),
                          flush=True)
            print(f"{mode}: speed-up of the slice phase with 2 workers: "
                  f"{phases[1] / phases[2]:.2f}x", flush=True)
    finally:
        subprocess.run([str(AUTOPIPE), "server", "stop"], check=False, capture_output=True,
                       env=environment(home))


if __name__ == "__main__":
    main()
