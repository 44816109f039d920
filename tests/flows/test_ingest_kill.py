"""A killed ingest (SIGKILL while writing the snapshot) leaves no half dataset behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from flows.core.config import Settings
from flows.core.store.catalog import Catalog
from tests.conftest import SAMPLES


@pytest.mark.slow
def test_sigkill_mid_ingest_leaves_no_half_dataset(fresh_home: Path, tmp_path: Path) -> None:
    rows = 3_000_000
    rng = np.random.default_rng(0)
    big = tmp_path / "big.csv"
    pl.DataFrame({"a": rng.normal(size=rows), "b": rng.integers(0, 1000, rows),
                  "c": rng.choice(["x", "y", "z"], rows)}).write_csv(big)
    command = Path(sys.executable).with_name("autopipe")
    process = subprocess.Popen([str(command), "ingest", str(big)], env=os.environ.copy(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    datasets = Settings().datasets_dir
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if any(".partial-" in p.name for p in datasets.glob("*")):
            break
        time.sleep(0.005)
    assert process.poll() is None, "the ingest ended before it could be killed mid-way"
    process.send_signal(signal.SIGKILL)
    process.wait()

    assert not [p for p in datasets.glob("*.parquet") if ".partial-" not in p.name]
    catalog = Settings().catalog_path
    assert not catalog.exists() or Catalog(catalog).table_counts()["datasets"] == 0

    # The next ingest sweeps what the killed one left and works normally.
    result = subprocess.run([str(command), "ingest", str(SAMPLES / "penguins.csv")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert not [p for p in datasets.iterdir() if ".partial-" in p.name]
    assert Catalog(catalog).table_counts()["datasets"] == 1
