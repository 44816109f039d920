"""Ingest at scale: a generated N-row, 20-column CSV (mixed types, 5% missing) through
autopipe's ingest, beside pandas.read_csv and a bare DuckDB read_csv of the same file.

Each reader runs in its own process so its peak memory (RSS, sampled every 20 ms) is its own.
Targets (issue 3): peak memory under 4 GiB; ingest within 1.5x of the bare DuckDB read.

    python benchmarks/ingest.py [--rows 10000000] [--keep FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from measure import measure

READERS = {
    "autopipe ingest": """
from pathlib import Path
from flows.core.data.ingest import ingest
from flows.core.data.sources import parse_source
result = ingest(parse_source(PATH), Path(OUT) / "datasets")
print(result.dataset.rows)
""",
    "duckdb read_csv (bare)": """
import duckdb
conn = duckdb.connect()
conn.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{PATH}')")
print(conn.execute("SELECT count(*) FROM t").fetchall()[0][0])
""",
    "pandas.read_csv": """
import pandas as pd
print(len(pd.read_csv(PATH)))
""",
}

def generate(path: Path, rows: int, seed: int = 0) -> None:
    """20 columns: integers, floats, categories, free-ish text, booleans, dates; 5% missing."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    for i in range(6):
        columns[f"int_{i}"] = rng.integers(0, 10_000, rows)
    for i in range(6):
        columns[f"float_{i}"] = rng.normal(100, 25, rows).round(3)
    for i in range(4):
        columns[f"cat_{i}"] = rng.choice([f"level_{k}" for k in range(20 * (i + 1))], rows)
    columns["flag"] = rng.choice(["true", "false"], rows)
    columns["day"] = (np.datetime64("2020-01-01") + rng.integers(0, 1500, rows)).astype(str)
    columns["code"] = rng.choice([f"C{k:06d}" for k in range(50_000)], rows)
    columns["target"] = rng.integers(0, 2, rows)
    frame = pl.DataFrame(columns)
    missing = pl.Series(rng.random(rows) < 0.05)
    frame = frame.with_columns(
        pl.when(missing.shuffle(seed + i)).then(None).otherwise(pl.col(c)).alias(c)
        for i, c in enumerate(frame.columns) if c != "target")
    frame.write_csv(path)


def run(name: str, path: Path, out: Path) -> tuple[float, float]:
    code = READERS[name].replace("PATH", repr(str(path))).replace("OUT", repr(str(out)))
    measured = measure(name, code)
    if isinstance(measured, str):
        sys.exit(measured)
    return measured.wall_s, measured.peak_gib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keep", type=Path, help="generate (or reuse) the CSV at this path")
    parser.add_argument("--skip-pandas", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="autopipe-bench-ingest-"))
    path = args.keep or work / "table.csv"
    if not path.exists():
        started = time.perf_counter()
        generate(path, args.rows)
        print(f"generated {path} in {time.perf_counter() - started:.1f} s")
    size_mb = path.stat().st_size / 2**20
    print(f"file: {args.rows:,} rows x 20 columns, {size_mb:,.0f} MB")
    results = {}
    for name in READERS:
        if name == "pandas.read_csv" and args.skip_pandas:
            continue
        wall, peak = run(name, path, work)
        results[name] = (wall, peak)
        print(f"{name:24} {wall:7.1f} s  {size_mb / wall:7.1f} MB/s  peak {peak:5.2f} GiB",
              flush=True)
    ours, bare = results["autopipe ingest"], results["duckdb read_csv (bare)"]
    ratio = ours[0] / bare[0]
    print(f"ingest / bare DuckDB: {ratio:.2f}x (target <= 1.5x: "
          f"{'met' if ratio <= 1.5 else 'NOT met'}); peak {ours[1]:.2f} GiB (target < 4 GiB: "
          f"{'met' if ours[1] < 4 else 'NOT met'})")
    print(json.dumps({k: {"wall_s": v[0], "peak_gib": v[1]} for k, v in results.items()}))


if __name__ == "__main__":
    main()
