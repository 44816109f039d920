"""How long a model makes a caller wait: what the latency-aware choice weighs against loss."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

SINGLE_ROW_CALLS = 7


def timed_latency(predict: Callable[[Any], Any], single_rows: list[Any],
                  batch: Any) -> dict[str, float]:
    """Milliseconds: the median of a few single-row calls, and one call on ``batch``."""
    predict(single_rows[0])  # the first call pays for lazy set-up, not a caller
    single = []
    for row in single_rows:
        started = time.perf_counter()
        predict(row)
        single.append(time.perf_counter() - started)
    started = time.perf_counter()
    predict(batch)
    return {"1_row": 1000 * float(np.median(single)),
            "1000_rows": 1000 * (time.perf_counter() - started)}


def matrix_latency(predict: Callable[[np.ndarray], Any], x: np.ndarray) -> dict[str, float]:
    """``predict``'s latency on prepared rows (see ``timed_latency``)."""
    return timed_latency(predict, [x[i:i + 1] for i in range(min(SINGLE_ROW_CALLS, len(x)))],
                         np.resize(x, (1000, x.shape[1])))


def preprocessing_ms(transform: Callable[[Any], Any], rows: Any) -> float:
    """Milliseconds the fitted preprocessing takes for one raw row (``rows``: a frame)."""
    singles = [rows.iloc[i:i + 1] for i in range(min(SINGLE_ROW_CALLS, len(rows)))]
    return timed_latency(transform, singles, rows.iloc[:1])["1_row"]


def set_single_threaded(estimator: Any) -> None:
    """Serving predicts a few rows at a time: extra threads only add contention. (CatBoost
    refuses new parameters once fitted; it predicts on the threads it is given per call.)"""
    params = estimator.get_params() if hasattr(estimator, "get_params") else {}
    if "n_jobs" in params:
        estimator.set_params(n_jobs=1)
