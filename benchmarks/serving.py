"""Serving speed: the real `bentoml serve` of a release, against the model's own predict.

Trains the titanic sample once in a fresh home (unless --home has a model), starts the service
on 127.0.0.1 and prints: single-record latency p50/p99 with 1 and with 8 concurrent clients,
requests per second, records per second for batches of 1,000, and the in-process floor (the
same model's validate + predict for one record and for 1,000). Validation, routing and the
prediction log are included, as a caller sees them.

Targets (issue 5, 2 cores): sequential p50 <= 2.5 ms and p99 <= 10 ms, >= 400 requests/s;
8 concurrent clients p50 <= 20 ms; batches of 1,000 at >= 50% of the in-process rate.

    python benchmarks/serving.py [--home DIR] [--requests 500] [--prefer fast]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "samples" / "titanic.csv"


def ensure_model(home: Path, prefer: str) -> None:
    """Train the sample once in ``home`` (the CLI, so the real flow and Prefect server)."""
    if (home / "releases" / "titanic.json").exists():
        return
    autopipe = Path(sys.executable).with_name("autopipe")
    subprocess.run([str(autopipe), "run", str(SAMPLE), "-t", "survived", "--budget", "15",
                    "--prefer", prefer, "--json"], check=True, capture_output=True,
                   env={"AUTOPIPE_HOME": str(home), "PATH": "/usr/bin:/bin"})


def one_record() -> list[dict[str, Any]]:
    frame = pd.read_csv(SAMPLE).drop(columns=["survived"])
    return json.loads(frame.head(1).to_json(orient="records"))


def batch(size: int) -> list[dict[str, Any]]:
    frame = pd.read_csv(SAMPLE).drop(columns=["survived"])
    return json.loads(frame.sample(n=size, replace=True, random_state=0)
                      .to_json(orient="records"))


def timed_requests(url: str, body: dict[str, Any], count: int) -> list[float]:
    """Seconds per request, one keep-alive client, requests one after another."""
    times = []
    with httpx.Client(timeout=30) as client:
        client.post(url, json=body).raise_for_status()  # warm-up
        for _ in range(count):
            started = time.perf_counter()
            client.post(url, json=body).raise_for_status()
            times.append(time.perf_counter() - started)
    return times


def concurrent_requests(url: str, body: dict[str, Any], clients: int,
                        count: int) -> tuple[list[float], float]:
    results: list[list[float]] = [[] for _ in range(clients)]

    def work(index: int) -> None:
        results[index] = timed_requests(url, body, count)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return [t for part in results for t in part], wall


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def in_process_floor(home: Path) -> dict[str, Any]:
    """Milliseconds for validate + predict of one record (median) and of 1,000 records, on
    the service's own (compiled) path and through the pandas + scikit-learn pipeline."""
    from flows.core.serving.live_release import LiveRelease

    served = LiveRelease(home / "releases" / "titanic.json").current()
    model = served.model_for(None)[1]
    routes = {"compiled": served.paths[model.version].outputs,
              "pipeline": lambda records: model.predict_frame(model.frame_from_records(records))}
    figures: dict[str, Any] = {"learner": model.learner,
                               "path": type(served.paths[model.version]).__name__}
    for name, route in routes.items():
        single, record = [], one_record()
        for _ in range(200):
            started = time.perf_counter()
            route(record)
            single.append(time.perf_counter() - started)
        records = batch(1000)
        started = time.perf_counter()
        route(records)
        figures[name] = (1000 * statistics.median(single),
                         1000 * (time.perf_counter() - started))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--prefer", default="fast", choices=["fast", "balanced", "accurate"])
    args = parser.parse_args()
    home = (args.home or Path(tempfile.mkdtemp(prefix="autopipe-bench-serving-"))).resolve()
    import os

    os.environ["AUTOPIPE_HOME"] = str(home)
    from flows.core.config import Settings
    from flows.server.environment import apply
    from flows.server.local_server import free_port
    from flows.server.service import start_service, stop_service, wait_ready

    ensure_model(home, args.prefer)
    settings = Settings()
    apply(settings)
    floor = in_process_floor(home)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_service(settings, home / "releases" / "titanic.json", "127.0.0.1", port,
                            home / "logs" / "bench-service.log")
    try:
        wait_ready(process, base, timeout_s=90)
        single = {"records": one_record()}
        sequential = timed_requests(f"{base}/predict", single, args.requests)
        together, wall = concurrent_requests(f"{base}/predict", single, 8, args.requests // 4)
        thousand = {"records": batch(1000)}
        batches = timed_requests(f"{base}/predict", thousand, 10)
    finally:
        stop_service(process)
    served_rate = 1000 / statistics.median(batches)
    floor_one_ms, floor_batch_ms = floor["compiled"]
    floor_rate = 1000 / (floor_batch_ms / 1000)
    rows = [
        ("model", floor["learner"], ""),
        ("service path", floor["path"], ""),
        ("sequential p50 / p99 ms", f"{1000 * percentile(sequential, 0.5):.2f} / "
                                    f"{1000 * percentile(sequential, 0.99):.2f}", "<= 2.5 / 10"),
        ("sequential requests/s", f"{len(sequential) / sum(sequential):.0f}", ">= 400"),
        ("8 clients p50 / p99 ms", f"{1000 * percentile(together, 0.5):.2f} / "
                                   f"{1000 * percentile(together, 0.99):.2f}", "p50 <= 20"),
        ("8 clients requests/s", f"{len(together) / wall:.0f}", ""),
        ("batch of 1,000: records/s", f"{served_rate:.0f}", f">= {0.5 * floor_rate:.0f}"),
        ("in-process 1 record ms", f"{floor_one_ms:.2f}", "(floor)"),
        ("in-process 1,000 records: records/s", f"{floor_rate:.0f}", "(floor)"),
        ("pipeline path: 1 record ms", f"{floor['pipeline'][0]:.2f}", "(before compiling)"),
        ("pipeline path: 1,000 records: records/s",
         f"{1e6 / floor['pipeline'][1]:.0f}", "(before compiling)"),
    ]
    print(f"{'measure':38} {'value':>20}  target")
    for name, value, target in rows:
        print(f"{name:38} {value:>20}  {target}")


if __name__ == "__main__":
    main()
