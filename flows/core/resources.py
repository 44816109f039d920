"""Wall time, CPU time and peak memory of a stage, measured around it.

Peak memory is the highest resident set size a sampling thread saw during the stage (native
allocations from LightGBM or CatBoost included, which tracemalloc would miss).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import psutil

from flows.core.progress import ProgressEvent, emit
from flows.core.types import StageUsage

SAMPLE_INTERVAL_S = 0.02


@dataclass
class UsageMeter:
    """Filled in when the measured block ends."""

    stage: str
    usage: StageUsage | None = None
    _peak: int = field(default=0, repr=False)


@contextmanager
def measure(stage: str) -> Iterator[UsageMeter]:
    process = psutil.Process()
    meter = UsageMeter(stage)
    meter._peak = process.memory_info().rss
    done = threading.Event()

    def sample() -> None:
        while not done.wait(SAMPLE_INTERVAL_S):
            meter._peak = max(meter._peak, process.memory_info().rss)

    sampler = threading.Thread(target=sample, name=f"rss-{stage}", daemon=True)
    started_at = datetime.now()
    wall0, cpu0 = time.perf_counter(), _cpu_seconds(process)
    sampler.start()
    try:
        yield meter
    finally:
        done.set()
        sampler.join()
        meter._peak = max(meter._peak, process.memory_info().rss)
        meter.usage = StageUsage(
            stage=stage, started_at=started_at, wall_s=time.perf_counter() - wall0,
            cpu_s=_cpu_seconds(process) - cpu0, peak_rss_mb=meter._peak / 2**20)


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


@contextmanager
def stage(name: str, usages: list[StageUsage], announce: bool = True) -> Iterator[None]:
    """Measure a stage into ``usages`` and, when announced, show its progress."""
    if announce:
        emit(ProgressEvent(stage=name, status="started"))
    with measure(name) as meter:
        yield
    assert meter.usage is not None
    usages.append(meter.usage)
    if announce:
        emit(ProgressEvent(stage=name, status="finished", elapsed_s=meter.usage.wall_s))
