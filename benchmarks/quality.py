"""Model quality against plain FLAML: same files, same budget, scored the same way.

Each dataset gets one seeded 80/20 split (stratified for classification), written as
train.csv and test.csv. autopipe trains on train.csv through its CLI and scores test.csv
with ``autopipe predict``; a plain ``flaml.AutoML`` script (FLAML's defaults, pandas frames)
fits and predicts the same files. Every fit runs alone in its own process, so its wall time and
peak memory (RSS of the process and its children, sampled every 50 ms) are its own, and the
metrics are computed here from both tools' predictions with the same code. The local Prefect
server is started once before the loop, so autopipe's fit times exclude its cold start.

Targets: autopipe at least as good as plain FLAML on every dataset and better on average,
never worse than its own baseline, wall time within budget + 20%.

    python benchmarks/quality.py [--datasets DIR] [--only NAME ...] [--budget 60]
                                 [--out FILE.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
from sklearn.metrics import (
    accuracy_score,
    log_loss,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.model_selection import train_test_split

from flows.core.types import LOWER_IS_BETTER

ROOT = Path(__file__).resolve().parents[1]
AUTOPIPE = str(Path(sys.executable).parent / "autopipe")
SAMPLE_S = 0.05
LATENCY_CALLS = 50
WALL_SLACK = 1.2
"""autopipe's whole run (ingest to registered model) may take the budget plus 20%."""


@dataclass(frozen=True)
class Dataset:
    name: str
    file: str
    target: str
    task: str
    """binary, multiclass or regression, as the datasets' MANIFEST.md states it."""
    drop: tuple[str, ...] = ()
    """Columns removed for both tools: known post-outcome leaks (the MANIFEST names them).
    autopipe excludes them itself; plain FLAML would use them and win on a leak."""

    @property
    def main_metric(self) -> str:
        return {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}[self.task]

    @property
    def second_metric(self) -> str:
        return "r2" if self.task == "regression" else "accuracy"


DATASETS = (
    Dataset("adult", "adult.csv.gz", "income", "binary"),
    Dataset("titanic", "titanic.csv", "survived", "binary"),
    Dataset("penguins", "penguins.csv", "species", "multiclass"),
    Dataset("diamonds", "diamonds.csv.gz", "price", "regression"),
    Dataset("sms_spam", "sms_spam.csv", "type", "binary"),
    Dataset("taxis", "taxis.csv", "fare", "regression", drop=("total",)),
)

PLAIN_FLAML = """
import json, statistics, sys, time
import pandas as pd
from flaml import AutoML
train, test, target, task, budget, out, calls = sys.argv[1:8]
x_train = pd.read_csv(train)
y_train = x_train.pop(target)
x_test = pd.read_csv(test).drop(columns=[target])
automl = AutoML()
started = time.perf_counter()
automl.fit(x_train, y_train, task=task, time_budget=float(budget), seed=0, verbose=0)
fit_s = time.perf_counter() - started
predicted = pd.DataFrame({"prediction": automl.predict(x_test)})
if task == "classification":
    proba = automl.predict_proba(x_test)
    for index, label in enumerate(automl.classes_):
        predicted[str(label)] = proba[:, index]
predicted.to_csv(out, index=False)
row, times = x_test.iloc[[0]], []
for _ in range(int(calls)):
    started = time.perf_counter()
    automl.predict(row)
    times.append(time.perf_counter() - started)
print(json.dumps({"fit_s": fit_s, "predict_ms": 1000 * statistics.median(times),
                  "learner": automl.best_estimator}))
"""

AUTOPIPE_LATENCY = """
import json, statistics, sys, time
from pathlib import Path
import pandas as pd
from flows.core.model import load_model
home, version, test, target, calls = sys.argv[1:6]
model = load_model(Path(home) / "models" / version)
row, times = pd.read_csv(test).drop(columns=[target]).iloc[[0]], []
for _ in range(int(calls)):
    started = time.perf_counter()
    model.predict_frame(model.validate_frame(row))
    times.append(time.perf_counter() - started)
print(json.dumps({"predict_ms": 1000 * statistics.median(times)}))
"""


class BenchmarkError(Exception):
    """A tool failed on a dataset; the benchmark records it and goes on."""


@dataclass
class ToolResult:
    """What one tool achieved on one dataset; fields stay None past the step that failed."""

    main: float | None = None
    second: float | None = None
    fit_s: float | None = None
    peak_mb: float | None = None
    predict_ms: float | None = None
    learner: str | None = None
    error: str | None = None


@dataclass
class Outcome:
    dataset: str
    task: str
    metric: str
    second_metric: str
    autopipe: ToolResult = field(default_factory=ToolResult)
    flaml: ToolResult = field(default_factory=ToolResult)
    model_version: str | None = None
    own_lift_internal: float | None = None
    """autopipe vs its best baseline on the main metric, measured on autopipe's own held-out
    part of train.csv (from the run's JSON summary), oriented so > 1 means autopipe better."""
    internal: dict[str, Any] = field(default_factory=dict)
    """The run's own figures behind that lift, and its stage wall times (where time went)."""

    @property
    def ratio(self) -> float | None:
        """autopipe against plain FLAML on our test part, > 1 means autopipe better."""
        return oriented_ratio(self.metric, self.autopipe.main, self.flaml.main)


@dataclass(frozen=True)
class Split:
    train: Path
    test: Path
    y_test: pd.Series
    classes: list[str]


@dataclass(frozen=True)
class Finished:
    wall_s: float
    peak_mb: float
    stdout: str


def oriented_ratio(metric: str, ours: float | None, theirs: float | None) -> float | None:
    """ours against theirs, > 1 when ours is better, whichever way the metric points."""
    if ours is None or theirs is None:
        return None
    top, bottom = (theirs, ours) if metric in LOWER_IS_BETTER else (ours, theirs)
    if bottom == 0:
        return 1.0 if top == 0 else math.inf
    return top / bottom


def label(value: object) -> str:
    """One spelling per class across tools and CSV round trips: 1, 1.0 and '1' are '1'."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def load(data: Dataset, directory: Path) -> pd.DataFrame:
    """The table with rows lacking a target dropped, once, so both tools see the same rows.

    Text labels lose surrounding spaces and a trailing '.': adult's test half spells its
    classes ' <=50K.' and ' >50K.', which would otherwise make a 4-class problem of a binary
    one for both tools."""
    frame = pd.read_csv(directory / data.file).drop(columns=list(data.drop))
    frame = frame[frame[data.target].notna()].reset_index(drop=True)
    if not pd.api.types.is_numeric_dtype(frame[data.target]):
        frame[data.target] = frame[data.target].str.strip().str.rstrip(".")
    return frame


def split(data: Dataset, frame: pd.DataFrame, work: Path) -> Split:
    """One 80/20 split with seed 0, stratified for classes, written where both tools read it."""
    stratify = None if data.task == "regression" else frame[data.target]
    train, test = train_test_split(frame, test_size=0.2, random_state=0, stratify=stratify)
    work.mkdir(parents=True, exist_ok=True)
    paths = work / "train.csv", work / "test.csv"
    train.to_csv(paths[0], index=False)
    test.to_csv(paths[1], index=False)
    classes = [] if data.task == "regression" else sorted(set(map(label, train[data.target])))
    return Split(paths[0], paths[1], test[data.target].reset_index(drop=True), classes)


def measure(command: list[str], env: dict[str, str]) -> Finished:
    """Run a command to the end while sampling the summed RSS of its process tree."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    peak, done = [0], threading.Event()
    sampler = threading.Thread(target=_sample, args=(process.pid, peak, done), daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise BenchmarkError(f"{Path(command[0]).name} {command[1]} exited "
                             f"{process.returncode}: {failure(stderr)}")
    return Finished(wall, peak[0] / 2**20, stdout)


def failure(stderr: str, limit: int = 400) -> str:
    """The message a command ended with, on one line: from autopipe's last 'error:' line,
    else the last lines (a Python traceback ends with the exception)."""
    lines = stderr.strip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("error:")]
    text = " ".join(" ".join(lines[starts[-1] if starts else -2:]).split())
    return text if len(text) <= limit else text[:limit] + "…"


def _sample(pid: int, peak: list[int], done: threading.Event) -> None:
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        while not done.is_set():
            total = 0
            for process in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += process.memory_info().rss
            peak[0] = max(peak[0], total)
            done.wait(SAMPLE_S)


def last_json(stdout: str) -> dict[str, Any]:
    """The JSON object a command prints last (anything logged before it is skipped)."""
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            parsed: dict[str, Any] = json.loads(line)
            return parsed
    raise BenchmarkError(f"no JSON object in the output: {stdout[-300:]!r}")


def score(data: Dataset, split_: Split, predictions: Path) -> tuple[float, float]:
    """Main and second metric of a predictions CSV (``prediction`` plus one probability
    column per class label) against the test part's target, the same for both tools."""
    predicted = pd.read_csv(predictions)
    if len(predicted) != len(split_.y_test):
        raise BenchmarkError(f"{len(predicted)} predictions for {len(split_.y_test)} test rows")
    if data.task == "regression":
        truth, values = split_.y_test.astype(float), predicted["prediction"].astype(float)
        return root_mean_squared_error(truth, values), r2_score(truth, values)
    truth = split_.y_test.map(label)
    proba = (predicted.drop(columns="prediction").rename(columns=label)
             .reindex(columns=split_.classes, fill_value=0.0).to_numpy(float))
    accuracy = accuracy_score(truth, predicted["prediction"].map(label))
    if data.task == "binary":
        return roc_auc_score(truth == split_.classes[-1], proba[:, -1]), accuracy
    return log_loss(truth, proba, labels=split_.classes), accuracy


def own_lift(summary: dict[str, Any]) -> float | None:
    """autopipe's model against its best baseline, both on autopipe's internal test part."""
    metric = summary["main_metric"]
    baselines = [b["metrics"].get(metric) for b in summary["baselines"].values()]
    baselines = [b for b in baselines if b is not None]
    if not baselines:
        return None
    best = min(baselines) if metric in LOWER_IS_BETTER else max(baselines)
    return oriented_ratio(metric, summary["metrics"].get(metric), best)


def internal_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """What explains a result: the run's own scores, where its time went, what it left out."""
    metric, excluded = summary["main_metric"], summary.get("excluded_columns", [])
    return {"main_metric": metric, "model": summary["metrics"].get(metric),
            "baselines": {role: b["metrics"].get(metric)
                          for role, b in summary["baselines"].items()},
            "stages_wall_s": {s["stage"]: round(s["wall_s"], 2) for s in summary["stages"]},
            "excluded_columns": {e["column"]: e["reason"] for e in excluded}}


@contextlib.contextmanager
def recording(result: ToolResult) -> Iterator[None]:
    """A tool failing on one dataset costs that cell, not the benchmark."""
    try:
        yield
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"


def bench_autopipe(data: Dataset, split_: Split, budget: float, env: dict[str, str],
                   outcome: Outcome) -> None:
    result, home = outcome.autopipe, env["AUTOPIPE_HOME"]
    with recording(result):
        run = measure([AUTOPIPE, "run", str(split_.train), "-t", data.target, "--name",
                       data.name, "--budget", str(budget), "--json"], env)
        result.fit_s, result.peak_mb = run.wall_s, run.peak_mb
        summary = last_json(run.stdout)
        outcome.model_version, result.learner = summary["model_version"], summary["learner"]
        outcome.own_lift_internal = own_lift(summary)
        outcome.internal = internal_figures(summary)
        predictions = split_.train.parent / "autopipe_predictions.csv"
        measure([AUTOPIPE, "predict", str(split_.test), "--out", str(predictions),
                 "--model", outcome.model_version], env)
        result.main, result.second = score(data, split_, predictions)
        latency = measure([sys.executable, "-c", AUTOPIPE_LATENCY, home, outcome.model_version,
                           str(split_.test), data.target, str(LATENCY_CALLS)], env)
        result.predict_ms = last_json(latency.stdout)["predict_ms"]


def bench_flaml(data: Dataset, split_: Split, budget: float, env: dict[str, str],
                result: ToolResult) -> None:
    with recording(result):
        predictions = split_.train.parent / "flaml_predictions.csv"
        task = "regression" if data.task == "regression" else "classification"
        run = measure([sys.executable, "-c", PLAIN_FLAML, str(split_.train), str(split_.test),
                       data.target, task, str(budget), str(predictions), str(LATENCY_CALLS)],
                      env)
        report = last_json(run.stdout)
        result.fit_s, result.peak_mb = report["fit_s"], run.peak_mb
        result.predict_ms, result.learner = report["predict_ms"], report["learner"]
        result.main, result.second = score(data, split_, predictions)


def bench(data: Dataset, directory: Path, budget: float, env: dict[str, str],
          work: Path) -> Outcome:
    outcome = Outcome(data.name, data.task, data.main_metric, data.second_metric)
    try:
        split_ = split(data, load(data, directory), work / data.name)
    except Exception as exc:
        outcome.autopipe.error = outcome.flaml.error = f"split: {type(exc).__name__}: {exc}"
        return outcome
    bench_autopipe(data, split_, budget, env, outcome)
    bench_flaml(data, split_, budget, env, outcome.flaml)
    return outcome


COLUMNS = ("dataset", "task", "metric", "autopipe", "FLAML", "ratio", "2nd metric",
           "autopipe 2nd", "FLAML 2nd", "autopipe fit s", "FLAML fit s", "<= budget+20%",
           "autopipe 1-row ms", "FLAML 1-row ms", "autopipe peak MB", "FLAML peak MB",
           "own lift vs baseline (autopipe's internal split)")


def fmt(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def row(outcome: Outcome, budget: float) -> list[str]:
    ours, theirs = outcome.autopipe, outcome.flaml
    within = None if ours.fit_s is None else ours.fit_s <= WALL_SLACK * budget
    return [outcome.dataset, outcome.task, outcome.metric, fmt(ours.main), fmt(theirs.main),
            fmt(outcome.ratio, 3), outcome.second_metric, fmt(ours.second), fmt(theirs.second),
            fmt(ours.fit_s, 1), fmt(theirs.fit_s, 1),
            "–" if within is None else ("yes" if within else "NO"),
            fmt(ours.predict_ms, 2), fmt(theirs.predict_ms, 2), fmt(ours.peak_mb, 0),
            fmt(theirs.peak_mb, 0), fmt(outcome.own_lift_internal, 3)]


def verdicts(outcomes: list[Outcome], budget: float) -> list[tuple[str, bool]]:
    """The issue's targets; a dataset where a tool failed counts against each of them."""
    ratios = [o.ratio for o in outcomes]
    known = [r for r in ratios if r is not None]
    lifts = [o.own_lift_internal for o in outcomes]
    walls = [o.autopipe.fit_s for o in outcomes]
    return [
        ("autopipe at least as good as plain FLAML on every dataset (ratio >= 1)",
         len(known) == len(ratios) and all(r >= 1 for r in known)),
        ("autopipe better than plain FLAML on average (mean ratio > 1)",
         bool(known) and statistics.fmean(known) > 1),
        ("never worse than the baseline (own lift >= 1, on autopipe's internal split)",
         all(lift is not None and lift >= 1 for lift in lifts)),
        (f"wall time within budget + 20% (autopipe run <= {WALL_SLACK * budget:g} s)",
         all(wall is not None and wall <= WALL_SLACK * budget for wall in walls)),
    ]


def print_report(outcomes: list[Outcome], budget: float) -> None:
    rows = [list(COLUMNS), *(row(o, budget) for o in outcomes)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    for cells in rows:
        print("  ".join(c.rjust(w) if i > 2 else c.ljust(w)
                        for i, (c, w) in enumerate(zip(cells, widths, strict=True))))
    known = [o.ratio for o in outcomes if o.ratio is not None]
    if known:
        print(f"mean ratio (> 1: autopipe better) {statistics.fmean(known):.3f}, geometric mean "
              f"{statistics.geometric_mean(known):.3f}, over {len(known)} of {len(outcomes)} "
              "datasets")
    for text, met in verdicts(outcomes, budget):
        print(f"{text}: {'met' if met else 'NOT met'}")
    for o in outcomes:
        for tool, result in (("autopipe", o.autopipe), ("FLAML", o.flaml)):
            if result.error:
                print(f"error: {o.dataset} {tool}: {result.error}")


def markdown(outcomes: list[Outcome], budget: float) -> str:
    """The results as a Markdown table, to paste into benchmarks/README.md."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row(o, budget)) + " |" for o in outcomes]
    known = [o.ratio for o in outcomes if o.ratio is not None]
    if known:
        lines.append(f"\nMean ratio {statistics.fmean(known):.3f} over {len(known)} datasets; "
                     f"budget {budget:g} s, {os.cpu_count()} cores.")
    return "\n".join(lines)


def chosen(only: list[str] | None) -> list[Dataset]:
    if not only:
        return list(DATASETS)
    unknown = set(only) - {d.name for d in DATASETS}
    if unknown:
        sys.exit(f"unknown dataset(s): {', '.join(sorted(unknown))}; "
                 f"known: {', '.join(d.name for d in DATASETS)}")
    return [d for d in DATASETS if d.name in only]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets",
                        metavar="DIR")
    parser.add_argument("--only", nargs="+", metavar="NAME")
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--out", type=Path, metavar="FILE.json")
    args = parser.parse_args()
    datasets = chosen(args.only)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="autopipe-bench-quality-",
                                     ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        env["AUTOPIPE_HOME"] = str(work / "home")
        try:
            measure([AUTOPIPE, "server", "start"], env)
        except BenchmarkError as exc:
            sys.exit(f"could not start the local Prefect server: {exc}")
        try:
            for data in datasets:
                print(f"{data.name}: fitting (budget {args.budget:g} s)…", file=sys.stderr,
                      flush=True)
                outcomes.append(bench(data, args.datasets, args.budget, env, work))
        finally:
            subprocess.run([AUTOPIPE, "server", "stop"], env=env, check=False,
                           capture_output=True)
    print(f"budget {args.budget:g} s  cores {os.cpu_count()}  datasets {args.datasets}")
    print_report(outcomes, args.budget)
    print()
    print(markdown(outcomes, args.budget))
    if args.out:
        args.out.write_text(json.dumps(
            {"budget_s": args.budget, "cores": os.cpu_count(),
             "results": [asdict(o) | {"ratio": o.ratio} for o in outcomes],
             "verdicts": dict(verdicts(outcomes, args.budget))}, indent=2))


if __name__ == "__main__":
    main()
