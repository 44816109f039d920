"""Balanced class weights against none, on the benchmark's imbalanced tables.

For each table whose rarest class is under 10% of the rows (ecoli, glass, oil_spill,
mammography) and each split seed of peers.py, the training file is prepared as ``autopipe
run`` prepares it, once with balanced class weights and once without, and the same first
``--models`` portfolio configurations are fitted by count (no clock: the figures do not move
with the machine's load), integrated with ``prefer accurate``, and scored on the benchmark's
test file with the benchmark's own scoring (binary AUROC, multiclass log loss). What
flows/core/preparation/imbalance.py decides from.

    PYTHONPATH=. .venv/bin/python benchmarks/class_weights.py [--models 6] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from peers_data import DATASETS, Dataset, load, seeds, split
from peers_score import log_loss, probabilities
from sklearn.metrics import roc_auc_score

from flows.core.data.ingest import read_table
from flows.core.pipeline.budget import Clock
from flows.core.pipeline.fit import FitOptions, fit_model
from flows.core.preparation.prepared import prepare_training

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
IMBALANCED = ("ecoli", "glass", "oil_spill", "mammography")


def measure(data: Dataset, seed: int, models: int, weighted: bool, work: Path) -> float:
    """The benchmark's main metric of one fit, with or without balanced class weights."""
    files = split(data, load(data, SHARED / "more" if data.more else SHARED), seed, work)
    # A decision metric at preparation is what turns the weights on; the fit itself
    # optimises the default log loss either way.
    prepared = prepare_training(read_table(str(files.train)), data.target, 0.2, seed,
                                metric="f1" if weighted and data.task == "binary"
                                else "macro_f1" if weighted else None)
    assert (prepared.sample_weight is not None) == weighted, data.name
    fitted = fit_model(prepared, FitOptions(seed=seed, n_jobs=1, prefer="accurate",
                                            max_models=models),
                       "v", Clock(time.monotonic(), 60.0, models), announce=False)
    model = fitted.model
    test = read_table(str(files.test)).to_pandas()
    proba = pd.DataFrame(model.predict_proba(test[list(model.input_schema)]),
                         columns=[str(c) for c in model.classes])
    scored = probabilities(proba, files.classes)
    truth = np.array(files.y_test)
    if data.task == "binary":
        return float(roc_auc_score(truth == files.classes[1], scored[:, 1]))
    return log_loss(truth, scored, files.classes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=6, help="configurations fitted (6)")
    parser.add_argument("--only", nargs="*", default=IMBALANCED, help="table names")
    args = parser.parse_args()
    print("| dataset | metric | seed | weighted | unweighted |")
    print("|---|---|---:|---:|---:|")
    for data in DATASETS:
        if data.name not in args.only:
            continue
        table = load(data, SHARED / "more" if data.more else SHARED)
        results: dict[bool, list[float]] = {True: [], False: []}
        for seed in seeds(table):
            for weighted in (True, False):
                with tempfile.TemporaryDirectory() as work:
                    results[weighted].append(
                        measure(data, seed, args.models, weighted, Path(work)))
            print(f"| {data.name} | {data.main_metric} | {seed} | {results[True][-1]:.4f} | "
                  f"{results[False][-1]:.4f} |", flush=True)
        print(f"| {data.name} | {data.main_metric} | mean | "
              f"{statistics.mean(results[True]):.4f} | {statistics.mean(results[False]):.4f} |",
              flush=True)


if __name__ == "__main__":
    main()
