"""Run a snippet of Python in its own process and measure it: wall time and peak memory (RSS
sampled every 20 ms), so each contender's peak is its own. Shared by the benchmarks."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HARNESS = """
import threading, time, psutil
peak = [0]
done = threading.Event()
def sample():
    process = psutil.Process()
    while not done.wait(0.02):
        peak[0] = max(peak[0], process.memory_info().rss)
threading.Thread(target=sample, daemon=True).start()
started = time.perf_counter()
exec(CODE)
wall = time.perf_counter() - started
done.set()
print("RESULT", wall, peak[0])
"""


@dataclass(frozen=True)
class Measured:
    wall_s: float
    peak_gib: float
    stdout: list[str]


def measure(name: str, code: str, python: str = sys.executable) -> Measured | str:
    """The measurement (in ``python``: another interpreter can hold a peer tool), or the
    process's error output when it failed."""
    script = HARNESS.replace("exec(CODE)", "exec(" + repr(code) + ")")
    result = subprocess.run([python, "-c", script], capture_output=True, text=True,
                            cwd=ROOT, check=False)
    if result.returncode != 0:
        return f"{name} failed:\n{result.stderr[-3000:]}"
    lines = result.stdout.splitlines()
    _, wall, peak = next(x for x in lines if x.startswith("RESULT")).split()
    return Measured(float(wall), float(peak) / 2**30, lines)
