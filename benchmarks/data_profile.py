"""The data analysis at scale: a generated N-row, 20-column Parquet table (mixed types, 5%
missing) profiled by autopipe, beside a bare DuckDB aggregation of the same file and, on a
1-million-row sample, ydata-profiling in minimal mode (installed only for this benchmark, best
in its own environment so it cannot move autopipe's pins: ``python3.11 -m venv /tmp/ydata &&
/tmp/ydata/bin/pip install ydata-profiling pyarrow psutil``, then ``--ydata-python
/tmp/ydata/bin/python``; skipped with a note when absent).

Each contender runs in its own process so its peak memory (RSS, sampled every 20 ms) is its own.
Targets (issue 6, 2 cores): 10M rows analysed in <= 20 s with <= 1 GiB peak; >= 10x faster than
ydata-profiling on the same 1M rows; a report under 5 MB.

    python benchmarks/data_profile.py [--rows 10000000] [--sample-rows 1000000] [--keep DIR]
                                 [--ydata-python PATH]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from measure import measure

GENERATE = """
COPY (
  SELECT {columns}
  FROM range({rows}) t(i)
) TO '{path}' (FORMAT parquet)
"""
CONTENDERS = {
    "autopipe profile + report": """
from pathlib import Path
from flows.core.data.profile import profile_snapshot
from flows.core.reports.data import data_report_html
found = profile_snapshot(Path(PATH), "target", 0)
html = data_report_html(found, "bench", "0" * 64)
Path(OUT).joinpath("report.html").write_text(html)
print("EXTRA", len(html), found["dataset"]["analysis_s"])
""",
    "autopipe profile (no report)": """
from pathlib import Path
from flows.core.data.profile import profile_snapshot
profile_snapshot(Path(PATH), "target", 0)
""",
    "duckdb aggregation (bare)": """
import duckdb
conn = duckdb.connect()
names = [r[0] for r in conn.execute(f"DESCRIBE SELECT * FROM read_parquet('{PATH}')").fetchall()]
parts = ", ".join(f'approx_count_distinct("{c}"), count("{c}"), min("{c}"), max("{c}")'
                  for c in names)
conn.execute(f"SELECT {parts} FROM read_parquet('{PATH}')").fetchall()
""",
    "ydata-profiling (minimal)": """
import pandas as pd
from ydata_profiling import ProfileReport
frame = pd.read_parquet(PATH)
ProfileReport(frame, minimal=True, progress_bar=False).to_file(OUT + "/ydata.html")
""",
}
def generate(path: Path, rows: int) -> None:
    """20 columns like benchmarks/ingest.py's: integers, floats, categories, a boolean, a
    date, a 50,000-level code and a binary target; 5% missing in every feature."""
    import duckdb

    def gap(expression: str) -> str:
        return f"CASE WHEN random() < 0.05 THEN NULL ELSE {expression} END"

    columns = [gap("(random() * 10000)::INTEGER") + f" AS int_{k}" for k in range(6)]
    columns += [gap("round(100 + 25 * sqrt(-2 * ln(random())) * cos(2 * pi() * random()), 3)")
                + f" AS float_{k}" for k in range(6)]
    columns += [gap(f"'level_' || (random() * {20 * (k + 1)})::INTEGER") + f" AS cat_{k}"
                for k in range(4)]
    columns += [gap("random() < 0.5") + " AS flag",
                gap("DATE '2020-01-01' + (random() * 1500)::INTEGER") + " AS day",
                gap("'C' || lpad(((random() * 50000)::INTEGER)::VARCHAR, 6, '0')") + " AS code",
                "(random() < 0.3)::INTEGER AS target"]
    conn = duckdb.connect()
    conn.execute("SELECT setseed(0.42)")
    conn.execute(GENERATE.format(columns=",\n    ".join(columns), rows=rows, path=path))


def sample_of(path: Path, rows: int, out: Path) -> Path:
    import duckdb

    sampled = out / f"sample-{rows}.parquet"
    if not sampled.exists():
        duckdb.connect().execute(
            f"COPY (SELECT * FROM read_parquet('{path}') LIMIT {rows}) TO '{sampled}' "
            "(FORMAT parquet)")
    return sampled


def run(name: str, path: Path, out: Path,
        python: str = sys.executable) -> tuple[float, float, list[str]] | None:
    code = CONTENDERS[name].replace("PATH", repr(str(path))).replace("OUT", repr(str(out)))
    measured = measure(name, code, python)
    if isinstance(measured, str):
        if "No module named 'ydata_profiling'" in measured:
            return None
        sys.exit(measured)
    extra = next((x.split()[1:] for x in measured.stdout if x.startswith("EXTRA")), [])
    return measured.wall_s, measured.peak_gib, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--sample-rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="generate (or reuse) the tables here")
    parser.add_argument("--ydata-python", default=sys.executable,
                        help="the interpreter that has ydata-profiling")
    args = parser.parse_args()
    out = args.keep or Path(tempfile.mkdtemp(prefix="autopipe-bench-profile-"))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"table-{args.rows}.parquet"
    if not path.exists():
        started = time.perf_counter()
        generate(path, args.rows)
        print(f"generated {path} in {time.perf_counter() - started:.1f} s")
    print(f"table: {args.rows:,} rows x 20 columns, {path.stat().st_size / 2**20:,.0f} MB Parquet")
    figures: dict[str, tuple[float, float, list[str]]] = {}
    for name in ("autopipe profile + report", "autopipe profile (no report)",
                 "duckdb aggregation (bare)"):
        measured = run(name, path, out)
        assert measured is not None
        figures[name] = measured
        print(f"{name:30} {measured[0]:7.1f} s  peak {measured[1]:5.2f} GiB", flush=True)
    _, _, (html_bytes, analysis_s) = figures["autopipe profile + report"]
    wall, peak, _ = figures["autopipe profile (no report)"]
    print(f"  analysis {float(analysis_s):.1f} s; report {int(html_bytes) / 2**20:.2f} MB "
          f"(target < 5 MB)")
    print(f"targets (the analysis, process included): <= 20 s: "
          f"{'met' if wall <= 20 else 'NOT met'}; <= 1 GiB: {'met' if peak <= 1 else 'NOT met'}")
    sample = sample_of(path, args.sample_rows, out)
    ours = run("autopipe profile + report", sample, out)
    theirs = run("ydata-profiling (minimal)", sample, out, args.ydata_python)
    assert ours is not None
    print(f"{args.sample_rows:,} rows: autopipe {ours[0]:.1f} s, peak {ours[1]:.2f} GiB")
    if theirs is None:
        print("ydata-profiling is not installed (pip install ydata-profiling): no ratio")
        return
    ratio = theirs[0] / ours[0]
    print(f"{args.sample_rows:,} rows: ydata-profiling minimal {theirs[0]:.1f} s, peak "
          f"{theirs[1]:.2f} GiB -> autopipe is {ratio:.1f}x faster (target >= 10x: "
          f"{'met' if ratio >= 10 else 'NOT met'})")


if __name__ == "__main__":
    main()
