"""autopipe against the peers: plain FLAML, AutoGluon medium_quality and best_quality, and two
scikit-learn baselines (HistGradientBoosting; LogisticRegression or Ridge), on the shared
tables, each split three ways (small tables) or once, the same files for every tool.

Each peer lives in a venv of its own under ``--venvs`` (made on first use, pinned; see
peers_venvs.py), never in autopipe's. Every fit runs alone in its own process, one at a time;
every tool's test-set probabilities are scored here by the same code (peers_score.py). Each
finished run is appended to the results file at once, so a second invocation skips what is
done; the report (peers_report.py) is printed every time, from the file.

    PYTHONPATH=. .venv/bin/python benchmarks/peers.py [--budget 60] [--only NAME ...]
        [--tools TOOL ...] [--seeds N ...] [--results FILE] [--venvs DIR] [--fresh]
        [--retry-errors] [--report-only] [--autopipe-args "..."]
        [--datasets DIR] [--more DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import peers_records as results
import peers_venvs
from peers_data import DATASETS, Dataset, Table, load, seeds, split
from peers_records import RunRecord
from peers_report import report
from peers_tools import AUTOPIPE, TOOLS, Context, RunError, Tool, measure, run

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
AUTOPIPE_VERSIONED = ("autopipe", "flaml", "lightgbm", "xgboost", "catboost", "scikit-learn",
                      "pandas", "numpy")


@dataclass(frozen=True)
class Pending:
    """The runs still to do on one split."""

    data: Dataset
    table: Table
    seed: int
    tools: list[Tool]


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per fit (60)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="datasets (all 16)")
    parser.add_argument("--tools", nargs="+", metavar="TOOL",
                        help=f"of {', '.join(t.name for t in TOOLS)} (all)")
    parser.add_argument("--seeds", nargs="+", type=int, metavar="N",
                        help="split seeds (default: 0 1 2 below 5,000 rows, else 0)")
    parser.add_argument("--results", type=Path, metavar="FILE",
                        default=ROOT / "benchmarks" / "results" / "peers.jsonl")
    parser.add_argument("--venvs", type=Path, metavar="DIR", default=peers_venvs.DEFAULT_VENVS)
    parser.add_argument("--python", default="python3.11", help="makes the peers' venvs")
    parser.add_argument("--datasets", type=Path, metavar="DIR", default=SHARED)
    parser.add_argument("--more", type=Path, metavar="DIR", default=SHARED / "more")
    parser.add_argument("--fresh", action="store_true",
                        help="run the selection again even where the results have it")
    parser.add_argument("--retry-errors", action="store_true",
                        help="run again the runs whose newest record is a failure")
    parser.add_argument("--report-only", action="store_true", help="fit nothing")
    parser.add_argument("--autopipe-args", default="", metavar='"..."',
                        help="more options for autopipe run, e.g. \"--max-models 3\"")
    return parser.parse_args(argv)


def chosen(names: list[str] | None, known: Sequence[str], what: str) -> list[str]:
    if not names:
        return list(known)
    unknown = sorted(set(names) - set(known))
    if unknown:
        sys.exit(f"unknown {what}: {', '.join(unknown)}; known: {', '.join(known)}")
    return [k for k in known if k in names]


def pending(args: argparse.Namespace, datasets: list[Dataset], tools: list[Tool],
            done: set[results.Key]) -> list[Pending]:
    found = []
    for data in datasets:
        table = load(data, args.more if data.more else args.datasets)
        for seed in args.seeds or seeds(table):
            todo = [t for t in tools if (t.name, data.name, seed, args.budget) not in done]
            if todo:
                found.append(Pending(data, table, seed, todo))
    return found


def finished(args: argparse.Namespace) -> set[results.Key]:
    if args.fresh:
        return set()
    newest = results.latest(results.load(args.results))
    return {k for k, r in newest.items() if not (args.retry_errors and r.failed)}


def autopipe_identity() -> tuple[str, dict[str, str]]:
    """The commit of the tree autopipe runs from (PYTHONPATH decides it; '-dirty' when
    tracked files differ from it) and the versions of its learners."""
    spec = importlib.util.find_spec("flows")
    tree = Path(spec.origin).parent.parent if spec and spec.origin else ROOT

    def git(*words: str) -> str:
        return subprocess.run(["git", "-C", str(tree), *words], capture_output=True,
                              text=True, check=False).stdout.strip()

    commit = (git("rev-parse", "--short", "HEAD") or "unknown") + (
        "-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    versions = {}
    for name in AUTOPIPE_VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return commit, versions


def environments(home: Path) -> tuple[dict[str, str], dict[str, str]]:
    """autopipe's (its own home, this interpreter's PYTHONPATH) and the peers' (neither)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AUTOPIPE_"))}
    peers = {k: v for k, v in base.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return base | {"AUTOPIPE_HOME": str(home)}, peers


@contextlib.contextmanager
def prefect_server(env: dict[str, str], needed: bool) -> Iterator[None]:
    """autopipe's local Prefect server, started once so no fit pays its cold start."""
    if not needed:
        yield
        return
    try:
        measure("autopipe server start", [AUTOPIPE, "server", "start"], env, 300)
    except RunError as exc:
        sys.exit(f"could not start the local Prefect server: {exc}")
    try:
        yield
    finally:
        subprocess.run([AUTOPIPE, "server", "stop"], env=env, check=False, capture_output=True)


def new_record(tool: Tool, work: Pending, ctx: Context, rows: tuple[int, int]) -> RunRecord:
    data = work.data
    record = RunRecord(tool.name, data.name, data.task, work.seed, ctx.budget, data.main_metric,
                       data.second_metric, autopipe_commit=ctx.autopipe_commit,
                       train_rows=rows[0], test_rows=rows[1], load_1m=os.getloadavg()[0],
                       timestamp=datetime.now(UTC).isoformat(timespec="seconds"))
    if tool.env is None:
        record.version, record.versions = ctx.autopipe_commit, ctx.autopipe_versions
        record.autopipe_args = shlex.join(ctx.autopipe_args)
    return record


def progress(index: int, total: int, record: RunRecord) -> None:
    head = f"[{index}/{total}] {record.dataset} seed {record.seed} {record.tool}:"
    if record.failed:
        print(f"{head} FAILED: {record.error}", file=sys.stderr, flush=True)
        return
    figures = [f"{record.metric} {record.main:.4f}", f"{record.second_metric} {record.second:.4f}"]
    figures += [f"{label} {value:.{digits}f}{unit}" for label, value, digits, unit in (
        ("fit", record.fit_s, 1, " s"), ("wall", record.wall_s, 1, " s"),
        ("1-row", record.predict_ms, 1, " ms"), ("peak", record.peak_mb, 0, " MB"))
        if value is not None]
    print(f"{head} {', '.join(figures)}", file=sys.stderr, flush=True)


def benchmark(args: argparse.Namespace, todo: list[Pending]) -> None:
    needed = {t.env for work in todo for t in work.tools if t.env is not None}
    venvs = {key: peers_venvs.ensure(peers_venvs.ENVS[key], args.venvs, args.python)
             for key in sorted(needed)}
    commit, versions = autopipe_identity()
    total, index = sum(len(w.tools) for w in todo), 0
    with tempfile.TemporaryDirectory(prefix="autopipe-bench-peers-",
                                     ignore_cleanup_errors=True) as tmp:
        ours, theirs = environments(Path(tmp) / "home")
        ctx = Context(args.budget, ours, theirs, venvs, tuple(shlex.split(args.autopipe_args)),
                      commit, versions)
        with prefect_server(ours, any(t.env is None for w in todo for t in w.tools)):
            for work in todo:
                where = Path(tmp) / work.data.name / f"seed{work.seed}"
                parts = split(work.data, work.table, work.seed, where)
                for tool in work.tools:
                    record = new_record(tool, work, ctx, (parts.train_rows, len(parts.y_test)))
                    run(tool, work.data, parts, ctx, record)
                    results.append(args.results, record)
                    index += 1
                    progress(index, total, record)
                shutil.rmtree(where, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> None:
    # SIGTERM unwinds like Ctrl-C: the running tool (in a session of its own) is killed and
    # the Prefect server stopped, rather than left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = parse(argv)
    names = chosen(args.only, [d.name for d in DATASETS], "dataset(s)")
    tools = chosen(args.tools, [t.name for t in TOOLS], "tool(s)")
    if not args.report_only:
        todo = pending(args, [d for d in DATASETS if d.name in names],
                       [t for t in TOOLS if t.name in tools], finished(args))
        if todo:
            benchmark(args, todo)
        else:
            print("nothing to run: every selected run is in the results", file=sys.stderr)
    records = [r for r in results.latest(results.load(args.results)).values()
               if r.dataset in names and r.tool in tools]
    ours = [r for r in records if r.budget == args.budget]
    print(report(ours, args.budget))
    others = sorted({r.budget for r in records} - {args.budget})
    if others:
        print(f"\n(the results also hold budget(s) {', '.join(f'{b:g}' for b in others)} s: "
              "pass --budget to report them)")


if __name__ == "__main__":
    main()
