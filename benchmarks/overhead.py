"""How much time autopipe adds around the model search, against plain FLAML.

Runs ``autopipe run`` and a plain ``flaml.AutoML(time_budget=B)`` script (read CSV, split,
fit, predict) as separate processes on the same file, a few times each, and prints medians.
The pipeline's own overhead is its wall time minus the budget (the search, and the selection
among its winner and the baselines, spend the budget); the target is < 10 s.
The local Prefect server is started once first (its cold start is printed separately), as a
user's first run would.

    python benchmarks/overhead.py [--data data/samples/titanic.csv] [--target survived]
                                  [--budget 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
PLAIN_FLAML = """
import sys
import pandas as pd
from flaml import AutoML
from sklearn.model_selection import train_test_split
path, target, budget = sys.argv[1], sys.argv[2], float(sys.argv[3])
frame = pd.read_csv(path)
frame = frame[frame[target].notna()]
y = frame.pop(target)
x_train, x_test, y_train, y_test = train_test_split(frame, y, test_size=0.2, random_state=0)
automl = AutoML()
automl.fit(x_train, y_train, time_budget=budget, seed=0, verbose=0)
automl.predict(x_test)
"""


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"command failed: {' '.join(command)}\n{result.stderr[-2000:]}")
    return elapsed, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "data" / "samples" / "titanic.csv"))
    parser.add_argument("--target", default="survived")
    parser.add_argument("--budget", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="autopipe-bench-"))
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["AUTOPIPE_HOME"] = str(home)

    cold, _ = timed([str(BIN / "autopipe"), "server", "start"], env)
    pipeline, searches, flaml = [], [], []
    try:
        for _ in range(args.repeat):
            wall, out = timed([str(BIN / "autopipe"), "run", args.data, "--target",
                               args.target, "--budget", str(args.budget), "--json"], env)
            stages = {s["stage"]: s["wall_s"] for s in json.loads(out)["stages"]}
            pipeline.append(wall)
            searches.append(stages["search"])
            wall, _ = timed([sys.executable, "-c", PLAIN_FLAML, args.data, args.target,
                             str(args.budget)], env)
            flaml.append(wall)
    finally:
        subprocess.run([str(BIN / "autopipe"), "server", "stop"], env=env, check=False,
                       capture_output=True)

    median = statistics.median
    overhead = [p - args.budget for p in pipeline]
    print(f"data {args.data}  target {args.target}  budget {args.budget:g} s  "
          f"repeats {args.repeat}  cores {os.cpu_count()}")
    print(f"local Prefect server cold start (once): {cold:6.1f} s")
    print(f"{'':28}{'median':>8}{'min':>8}{'max':>8}")
    for label, values in (("autopipe run, wall s", pipeline),
                          ("  of which search stage s", searches),
                          ("  overhead: wall - budget s", overhead),
                          ("plain FLAML script, wall s", flaml)):
        print(f"{label:28}{median(values):8.2f}{min(values):8.2f}{max(values):8.2f}")
    print(f"ratio autopipe / plain FLAML (median wall): {median(pipeline) / median(flaml):.2f}")
    print(f"extra wall vs plain FLAML (median): {median(pipeline) - median(flaml):.2f} s")
    print(f"overhead target < 10 s: {'met' if median(overhead) < 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
