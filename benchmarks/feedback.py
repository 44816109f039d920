"""Corrections against a concept shift: does retraining on people's labels win back what the
shift cost, and how fast does monitoring read the prediction log?

The table is split in time: the first part trains the champion; in the rest ("live") the
truth changes in one segment (never-married people earn >50K exactly when they work 40+ hours
a week). Live rows are answered by the champion and logged with the service's own log
writer; k of them get their true label (``autopipe labels``) and ``autopipe retrain`` trains
a challenger, for k = 50, 200, 500 (labels accumulate). A retrain without corrections (the
champion's data again) is the control. Every model is scored on the same 5,000 held-back
live rows no one labelled. Then ``autopipe monitor`` reads a log of N rows, timed.

    python benchmarks/feedback.py [--data ../shared/datasets/adult.csv.gz] [--budget 30]
        [--monitor-rows 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FAMILY = "adult_live"
TARGET = "income"
EVAL_ROWS = 5000
CORRECTIONS = (50, 200, 500)


def shifted(frame: pd.DataFrame) -> pd.DataFrame:
    """The live truth: in the never-married segment, >50K exactly at 40+ hours a week."""
    segment = frame["marital-status"].str.strip() == "Never-married"
    rich = frame["hours-per-week"] >= 40
    label = np.where(rich, ">50K", "<=50K")
    return frame.assign(income=np.where(segment, label, frame[TARGET]))


def autopipe(home: Path, *args: str) -> dict[str, Any]:
    command = [str(Path(sys.executable).with_name("autopipe")), *args, "--json"]
    result = subprocess.run(command, capture_output=True, text=True, check=False,
                            env=os.environ | {"AUTOPIPE_HOME": str(home)})
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout)


def log_traffic(home: Path, version_path: Path, version: str, live: pd.DataFrame,
                batch: int = 100) -> list[dict[str, Any]]:
    """Answer live rows with the champion in-process and log them as the service does;
    (request id, index) per row, in order."""
    from flows.core.config import Settings
    from flows.core.registry.model import load_model
    from flows.core.serving.prediction_log import PredictionLog

    model = load_model(version_path)
    log = PredictionLog(Settings(home=home).prediction_logs_dir)
    keys = []
    features = live.drop(columns=[TARGET])
    for start in range(0, len(features), batch):
        records = json.loads(features.iloc[start:start + batch].to_json(orient="records"))
        answered = model.predict_frame(model.frame_from_records(records))
        results = [{"prediction": row["prediction"], "slice": "global", "model_version": version,
                    "probabilities": {c: float(row[c]) for c in model.class_names}}
                   for row in answered.to_dict("records")]
        request_id = uuid.uuid4().hex
        log.append(request_id, records, results, latency_ms=1.0)
        keys += [{"request_id": request_id, "index": i} for i in range(len(records))]
    return keys


def score(home: Path, version: str, evaluation: pd.DataFrame) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, roc_auc_score

    from flows.core.config import Settings
    from flows.core.registry.model import load_model
    from flows.core.store.catalog import Catalog

    os.environ["AUTOPIPE_HOME"] = str(home)
    model = load_model(Catalog(Settings().catalog_path).model(version).artifact_path)
    proba = model.predict_frame(model.validate_frame(evaluation.drop(columns=[TARGET])))
    positive = model.class_names[-1]
    truth = (evaluation[TARGET].astype(str) == positive).to_numpy()
    return {"roc_auc": float(roc_auc_score(truth, proba[positive])),
            "accuracy": float(accuracy_score(truth, proba["prediction"].astype(str)
                                             == positive))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "datasets"
                        / "adult.csv.gz")
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--monitor-rows", type=int, default=200_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="autopipe-bench-feedback-"))
    home = work / "home"
    frame = pd.read_csv(args.data)
    # adult's test half spells its labels '<=50K.' and '>50K.': one spelling for both halves.
    frame[TARGET] = frame[TARGET].str.strip().str.rstrip(".")
    history, live = frame.iloc[: len(frame) * 6 // 10], shifted(frame.iloc[len(frame) * 6 // 10:])
    live = live.sample(frac=1.0, random_state=0)
    evaluation, traffic = live.iloc[:EVAL_ROWS], live.iloc[EVAL_ROWS:]
    history.to_csv(work / "history.csv", index=False)
    segment = (traffic["marital-status"].str.strip() == "Never-married").mean()
    print(f"history {len(history)} rows, live traffic {len(traffic)}, evaluation {EVAL_ROWS} "
          f"(shifted segment: {segment:.0%} of live rows); budget {args.budget:g} s per "
          "training", flush=True)
    champion = autopipe(home, "run", str(work / "history.csv"), "-t", TARGET, "--name", FAMILY,
                        "--budget", str(args.budget), "--seed", "0")
    version = champion["model_version"]
    keys = log_traffic(home, home / "models" / version, version, traffic)
    rows: list[tuple[str, str, dict[str, Any] | None]] = [("champion", version, None)]
    control = autopipe(home, "run", str(work / "history.csv"), "-t", TARGET, "--name", FAMILY,
                       "--budget", str(args.budget), "--seed", "1")
    rows.append(("retrain, no corrections", control["model_version"], None))
    order = np.random.default_rng(0).permutation(len(traffic))
    for count in CORRECTIONS:
        chosen = order[:count]
        labels = pd.DataFrame([keys[i] for i in chosen]).assign(
            income=traffic.iloc[chosen][TARGET].to_numpy())
        labels.to_csv(work / f"labels-{count}.csv", index=False)
        autopipe(home, "labels", str(work / f"labels-{count}.csv"))
        started = time.perf_counter()
        retrained = autopipe(home, "retrain", "--dataset", FAMILY, "--budget", str(args.budget))
        rows.append((f"retrain, {count} labels "
                     f"({retrained['feedback']['corrected']} corrections)",
                     retrained["challenger"],
                     retrained | {"wall_s": time.perf_counter() - started}))
    print(f"\n{'model':<44} {'AUROC':>7} {'accuracy':>9}   gate on fresh labelled rows")
    for name, model_version, outcome in rows:
        metrics = score(home, model_version, evaluation)
        gate = outcome["verdict"]["gate"] if outcome else None
        note = ""
        if outcome and gate:
            advice = "promote" if outcome["verdict"]["recommend_promotion"] else "keep"
            note = (f"{gate['metric']} {gate['champion']:.4f} -> {gate['challenger']:.4f} on "
                    f"{gate['rows']} rows, {advice}; {outcome['wall_s']:.0f} s")
        print(f"{name:<44} {metrics['roc_auc']:>7.4f} {metrics['accuracy']:>9.4f}   {note}",
              flush=True)
    monitor_throughput(home, version, traffic, args.monitor_rows)


def monitor_throughput(home: Path, version: str, traffic: pd.DataFrame, rows: int) -> None:
    """Log ``rows`` more predictions, then time ``autopipe monitor`` reading them."""
    repeats = max(1, rows // len(traffic))
    for _ in range(repeats):
        log_traffic(home, home / "models" / version, version, traffic, batch=500)
    logged = repeats * len(traffic)
    started = time.perf_counter()
    result = autopipe(home, "monitor")
    first = time.perf_counter() - started
    started = time.perf_counter()
    autopipe(home, "monitor")
    again = time.perf_counter() - started
    print(f"\nmonitor: {result['ingested']} new log rows ingested and checked in {first:.1f} s "
          f"({result['ingested'] / first:,.0f} rows/s, process start included); "
          f"{logged} rows logged; a second run over the same log (nothing new, all rows "
          f"checked again) {again:.1f} s; {result['queued']} queued for review")


if __name__ == "__main__":
    main()
