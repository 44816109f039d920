"""Slices side by side: one run with 8 slices, trained with 1 and with 2 local workers.

Generates an 8-segment table (binary target whose rule differs per segment), then runs
``autopipe run --slice-by segment --workers N`` for N = 1 and 2 in one fresh home (one Prefect
server, started before the timed runs) and prints each run's wall time, the slice phase
(what the run spent beyond its global stages) and the speed-up. The slices' budget is the
same in both runs, so the speed-up is the parallelism, not less search.

    python benchmarks/workers.py [--rows-per-slice 600] [--budget 16]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

SLICES = 8


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


def run(home: Path, data: Path, budget: float, workers: int) -> dict[str, object]:
    autopipe = Path(sys.executable).with_name("autopipe")
    started = time.perf_counter()
    result = subprocess.run(
        [str(autopipe), "run", str(data), "-t", "target", "--slice-by", "segment",
         "--budget", str(budget), "--workers", str(workers), "--min-slice-rows", "100",
         "--json"], capture_output=True, text=True, check=False,
        env=os.environ | {"AUTOPIPE_HOME": str(home)})
    if result.returncode != 0:
        sys.exit(result.stderr[-3000:])
    summary = json.loads(result.stdout)
    summary["wall_s"] = time.perf_counter() - started
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-per-slice", type=int, default=600)
    parser.add_argument("--budget", type=float, default=16.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="autopipe-bench-workers-"))
    data = work / "segments.csv"
    generate(data, args.rows_per_slice)
    home = work / "home"
    autopipe = Path(sys.executable).with_name("autopipe")
    subprocess.run([str(autopipe), "server", "start"], check=True, capture_output=True,
                   env=os.environ | {"AUTOPIPE_HOME": str(home)})
    print(f"{SLICES} slices x {args.rows_per_slice} rows, budget {args.budget:g} s")
    phases = {}
    for workers in (1, 2):
        summary = run(home, data, args.budget, workers)
        stages = summary["stages"]
        assert isinstance(stages, list)
        slice_walls = [s["wall_s"] for s in stages if s["stage"].startswith("slice ")]
        global_walls = sum(s["wall_s"] for s in stages if not s["stage"].startswith("slice "))
        phase = float(summary["duration_s"]) - global_walls  # type: ignore[arg-type]
        phases[workers] = phase
        print(f"workers={workers}: run {summary['wall_s']:.1f} s (flow {summary['duration_s']:.1f}"
              f" s), slice phase {phase:.1f} s, slices trained {len(slice_walls)} "
              f"(sum of their walls {sum(slice_walls):.1f} s)", flush=True)
    print(f"speed-up of the slice phase with 2 workers: {phases[1] / phases[2]:.2f}x")
    subprocess.run([str(autopipe), "server", "stop"], check=False, capture_output=True,
                   env=os.environ | {"AUTOPIPE_HOME": str(home)})


if __name__ == "__main__":
    main()
