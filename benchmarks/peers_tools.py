"""The tools, and one run of a tool on one split: fit in a process of its own (its wall time
and the peak RSS of its process tree, sampled every 50 ms, are its own), predict the test
part, time single-row predictions, and score the predictions here.

autopipe runs through its CLI with the harness's own interpreter (the project's venv), in one
AUTOPIPE_HOME whose Prefect server the caller started; each peer runs benchmarks/peer_fit.py
with the python of its own venv (benchmarks/peers_venvs.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from peers_data import Dataset, Split
from peers_records import RunRecord
from peers_score import score
from peers_venvs import Venv

HERE = Path(__file__).resolve().parent
AUTOPIPE = str(Path(sys.executable).parent / "autopipe")
SAMPLE_S = 0.05
LATENCY_CALLS = 50


def timeout_s(budget: float) -> float:
    """A run still going by then is killed and recorded as failed."""
    return 10 * budget + 300


@dataclass(frozen=True)
class Tool:
    name: str
    label: str
    """Short column heading for the report."""
    env: str | None
    """The peers_venvs.ENVS key of its venv; None for autopipe (the harness's interpreter)."""


TOOLS = (
    Tool("autopipe", "autopipe", None),
    Tool("flaml", "FLAML", "flaml"),
    Tool("autogluon-medium", "AG medium", "autogluon"),
    Tool("autogluon-best", "AG best", "autogluon"),
    Tool("sklearn-hgb", "HGB", "sklearn"),
    Tool("sklearn-linear", "linear", "sklearn"),
)
BASELINES = ("sklearn-hgb", "sklearn-linear")

AUTOPIPE_LATENCY = """
import json, statistics, sys, time
from pathlib import Path
import pandas as pd
from flows.core.registry.model import load_model
home, version, test, target, calls = sys.argv[1:6]
model = load_model(Path(home) / "models" / version)
row = pd.read_csv(test).drop(columns=[target]).iloc[[0]]
model.predict_frame(model.validate_frame(row))
times = []
for _ in range(int(calls)):
    started = time.perf_counter()
    model.predict_frame(model.validate_frame(row))
    times.append(time.perf_counter() - started)
print(json.dumps({"predict_ms": 1000 * statistics.median(times)}))
"""


class RunError(Exception):
    """A tool failed on a split; the run is recorded with this and the benchmark goes on."""


@dataclass(frozen=True)
class Context:
    budget: float
    autopipe_env: dict[str, str]
    """The environment of autopipe's processes: AUTOPIPE_HOME and the rest."""
    peer_env: dict[str, str]
    venvs: dict[str, Venv]
    autopipe_args: tuple[str, ...]
    """Passed on to ``autopipe run`` after the benchmark's own options."""
    autopipe_commit: str
    autopipe_versions: dict[str, str]


@dataclass(frozen=True)
class Finished:
    wall_s: float
    peak_mb: float
    stdout: str


def measure(step: str, command: list[str], env: dict[str, str], limit_s: float) -> Finished:
    """Run a command to its end (or kill it at ``limit_s``) while sampling the summed RSS of
    its process tree; ``step`` names it in errors."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    peak, done = [0], threading.Event()
    sampler = threading.Thread(target=sample, args=(process.pid, peak, done), daemon=True)
    sampler.start()
    try:
        stdout, stderr = process.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        kill(process)
        raise RunError(f"{step} killed after {limit_s:.0f} s") from None
    except BaseException:  # Ctrl-C: its own session would keep the tool running otherwise
        kill(process)
        raise
    finally:
        done.set()
        sampler.join()
    if process.returncode != 0:
        raise RunError(f"{step} exited {process.returncode}: {failure(stderr)}")
    return Finished(time.perf_counter() - started, peak[0] / 2**20, stdout)


def kill(process: subprocess.Popen[str]) -> None:
    """The process and everything it started (they share its session's process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def sample(pid: int, peak: list[int], done: threading.Event) -> None:
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        while not done.is_set():
            total = 0
            for process in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += process.memory_info().rss
            peak[0] = max(peak[0], total)
            done.wait(SAMPLE_S)


def failure(stderr: str, limit: int = 400) -> str:
    """The message a command ended with, on one line: from autopipe's last 'error:' line,
    else the last lines (a Python traceback ends with the exception)."""
    lines = stderr.strip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("error:")]
    text = " ".join(" ".join(lines[starts[-1] if starts else -2:]).split())
    return text if len(text) <= limit else text[:limit] + "…"


def last_json(stdout: str) -> dict[str, Any]:
    """The JSON object a command prints last (anything logged before it is skipped)."""
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            parsed: dict[str, Any] = json.loads(line)
            return parsed
    raise RunError(f"no JSON object in the output: {stdout[-300:]!r}")


@contextlib.contextmanager
def recording(record: RunRecord) -> Iterator[None]:
    """A tool failing on one split costs that run, not the benchmark."""
    try:
        yield
    except Exception as exc:
        record.error = f"{type(exc).__name__}: {exc}"


def run(tool: Tool, data: Dataset, split: Split, ctx: Context, record: RunRecord) -> None:
    with recording(record):
        if tool.env is None:
            run_autopipe(data, split, ctx, record)
        else:
            run_peer(tool, data, split, ctx, record)


def run_autopipe(data: Dataset, split: Split, ctx: Context, record: RunRecord) -> None:
    env, limit = ctx.autopipe_env, timeout_s(ctx.budget)
    fit = measure("autopipe run", [
        # One dataset name per split: a later seed would otherwise start from the champion of
        # an earlier one, whose training rows hold this seed's test rows.
        AUTOPIPE, "run", str(split.train), "--target", data.target, "--name",
        f"{data.name}_{record.seed}",
        "--budget", f"{ctx.budget:g}", "--json", *ctx.autopipe_args], env, limit)
    record.fit_s = record.wall_s = fit.wall_s
    record.peak_mb = fit.peak_mb
    summary = last_json(fit.stdout)
    version, record.detail = summary["model_version"], summary.get("learner")
    record.extra = internal_figures(summary)
    predictions = split.train.parent / "autopipe.csv"
    measure("autopipe predict", [AUTOPIPE, "predict", str(split.test), "--out",
                                 str(predictions), "--model", version], env, limit)
    scores = score(data.task, split, predictions)
    record.main, record.second = scores.main, scores.second
    latency = measure("autopipe latency", [
        sys.executable, "-c", AUTOPIPE_LATENCY, env["AUTOPIPE_HOME"], version, str(split.test),
        data.target, str(LATENCY_CALLS)], env, limit)
    record.predict_ms = last_json(latency.stdout)["predict_ms"]


def internal_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """From the run's JSON summary: its scores on its own held-out part of train.csv, where
    its time went, what it left out (read leniently: the summary's shape may move)."""
    metric = summary.get("main_metric")
    integration = summary.get("integration", {})
    return {"main_metric": metric,
            "choice": integration.get("reason"), "caller_ms": integration.get("caller_ms_1_row"),
            "model": summary.get("metrics", {}).get(metric),
            "baselines": {role: b.get("metrics", {}).get(metric)
                          for role, b in summary.get("baselines", {}).items()},
            "stages_wall_s": {s["stage"]: round(s["wall_s"], 2)
                              for s in summary.get("stages", [])},
            "excluded_columns": {e["column"]: e["reason"]
                                 for e in summary.get("excluded_columns", [])}}


def run_peer(tool: Tool, data: Dataset, split: Split, ctx: Context, record: RunRecord) -> None:
    assert tool.env is not None
    venv = ctx.venvs[tool.env]
    record.versions, record.version = venv.versions, venv.versions.get(main_package(tool), "")
    predictions = split.train.parent / f"{tool.name}.csv"
    work = split.train.parent / f"{tool.name}-work"
    work.mkdir(exist_ok=True)
    try:
        fit = measure(tool.name, [str(venv.python), str(HERE / "peer_fit.py"), tool.name,
                       str(split.train), str(split.test), data.target, data.task,
                       f"{ctx.budget:g}", str(predictions), str(work)],
                      ctx.peer_env, timeout_s(ctx.budget))
    finally:
        shutil.rmtree(work, ignore_errors=True)  # AutoGluon's models: hundreds of MB
    report = last_json(fit.stdout)
    record.fit_s, record.wall_s, record.peak_mb = report["fit_s"], fit.wall_s, fit.peak_mb
    record.predict_ms, record.detail = report["predict_ms"], report["detail"]
    scores = score(data.task, split, predictions)
    record.main, record.second = scores.main, scores.second


def main_package(tool: Tool) -> str:
    return {"flaml": "flaml", "autogluon": "autogluon.tabular",
            "sklearn": "scikit-learn"}[tool.env or ""]
