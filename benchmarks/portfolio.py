"""Each portfolio entry bagged alone on the benchmark's tables: what the portfolio's order and
shares are decided from.

For every table (benchmarks/peers_data.py, split seed 0, its training file only) the training
rows are prepared as ``autopipe run`` prepares them, folded as a run folds them, and every
entry of flows/core/training/portfolio.py is bagged on its own with at most ``--cap`` seconds
(a deadline per fold, as in a run). Printed per entry: its out-of-fold loss rank on each table
(1 = best), the mean rank, how often it is the best, the mean gain it brings to a greedy
ensemble of the entries before it (in the portfolio's order), and its mean fit seconds and
single-row latency. Run it alone on the machine.

    PYTHONPATH=. .venv/bin/python benchmarks/portfolio.py [--cap 20] [--only NAME ...]
        [--out FILE.json] [--report-only FILE.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from peers_data import DATASETS, Dataset, load, split

from flows.core.data.ingest import read_table
from flows.core.preparation.prepared import prepare_training
from flows.core.training.bagging import Candidate, fit_bag
from flows.core.training.ensemble import greedy_loss
from flows.core.training.folds import plan_folds
from flows.core.training.learners import Matrix, fit_threads
from flows.core.training.losses import loss, search_metric
from flows.core.training.portfolio import build_portfolio

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def measure_table(data: Dataset, cap: float, work: Path) -> dict[str, Any]:
    """Every entry bagged alone on one table: its loss, time, trees and latency."""
    table = load(data, SHARED / "more" if data.more else SHARED)
    files = split(data, table, 0, work / data.name)
    prepared = prepare_training(read_table(str(files.train)), data.target, 0.2, seed=0)
    matrix = Matrix(prepared.x_train, prepared.split.y_train, prepared.sample_weight,
                    prepared.task, len(prepared.split.classes))
    folds = plan_folds(matrix.y, matrix.task, seed=0)
    metric = search_metric(matrix.task, None)
    y = matrix.y[folds.scored]
    fitted: list[Candidate] = []
    entries: dict[str, dict[str, Any]] = {}
    for config in build_portfolio(matrix.task, matrix.x, matrix.y):
        before = greedy_loss([c.oof for c in fitted], y, metric) if fitted else float("inf")
        try:
            bag = fit_bag(config, matrix, folds, 0, fit_threads(matrix, -1), cap)
        except Exception as error:  # a benchmark records a refusal and goes on
            entries[config.name] = {"error": f"{type(error).__name__}: {error}"[:200]}
            continue
        fitted.append(bag)
        after = greedy_loss([c.oof for c in fitted], y, metric)
        entries[config.name] = {
            "loss": loss(metric, y, bag.oof), "fit_s": bag.fit_s,
            "latency_ms": bag.latency_ms["1_row"], "rounds": bag.rounds,
            "ensemble_gain": (before - after) / abs(before) if fitted[:-1] else None}
        print(f"  {data.name} {config.name}: {entries[config.name]['loss']:.4f} "
              f"({bag.fit_s:.1f} s)", file=sys.stderr, flush=True)
    return {"rows": len(matrix.y), "columns": matrix.x.shape[1], "folds": folds.k,
            "metric": metric, "entries": entries}


def summarise(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per entry: ranks per table, mean rank, wins, mean ensemble gain, time and latency."""
    names = list(dict.fromkeys(n for r in results.values() for n in r["entries"]))
    ranks: dict[str, dict[str, float]] = {name: {} for name in names}
    for table, result in results.items():
        scored = {n: e["loss"] for n, e in result["entries"].items() if "loss" in e}
        order = sorted(scored, key=scored.__getitem__)
        for name in names:
            ranks[name][table] = order.index(name) + 1 if name in scored else len(names)
    rows = []
    for name in names:
        entries = [r["entries"][name] for r in results.values()
                   if "loss" in r["entries"].get(name, {})]
        gains = [e["ensemble_gain"] for e in entries if e["ensemble_gain"] is not None]
        rows.append({"entry": name, "ranks": ranks[name],
                     "mean_rank": statistics.mean(ranks[name].values()),
                     "wins": sum(1 for r in ranks[name].values() if r == 1),
                     "mean_gain": statistics.mean(gains) if gains else None,
                     "fit_s": statistics.mean(e["fit_s"] for e in entries) if entries else None,
                     "latency_ms": statistics.mean(e["latency_ms"] for e in entries)
                     if entries else None})
    return rows


def print_table(rows: list[dict[str, Any]], tables: list[str]) -> None:
    header = ["entry", *tables, "mean rank", "wins", "ensemble gain", "fit s", "1-row ms"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        gain = "–" if row["mean_gain"] is None else f"{100 * row['mean_gain']:.2f}%"
        cells = [row["entry"], *(f"{row['ranks'][t]:g}" for t in tables),
                 f"{row['mean_rank']:.2f}", str(row["wins"]), gain,
                 "–" if row["fit_s"] is None else f"{row['fit_s']:.1f}",
                 "–" if row["latency_ms"] is None else f"{row['latency_ms']:.2f}"]
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=float, default=20.0, help="seconds per entry (20)")
    parser.add_argument("--only", nargs="*", help="table names")
    parser.add_argument("--out", type=Path, help="save every figure as JSON")
    parser.add_argument("--report-only", type=Path, metavar="FILE",
                        help="print the table of a saved --out file, fitting nothing")
    args = parser.parse_args()
    if args.report_only:
        results = json.loads(args.report_only.read_text())
        print_table(summarise(results), list(results))
        return
    chosen = [d for d in DATASETS if not args.only or d.name in args.only]
    results = {}
    with tempfile.TemporaryDirectory(prefix="autopipe-portfolio-") as work:
        for data in chosen:
            print(f"{data.name}…", file=sys.stderr, flush=True)
            results[data.name] = measure_table(data, args.cap, Path(work))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    print_table(summarise(results), list(results))


if __name__ == "__main__":
    main()
