"""True labels of served predictions: reading a labels file, and the live performance of each
model and slice against the metric it was tested with.

A labels file has one row per prediction: ``request_id`` (what the service answered with),
``index`` (the record's place in its request; 0 when absent) and the true value in a column
named ``label`` or after the model's target.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from flows.core.data.cleaning import clean_value
from flows.core.data.labels import encode_labels
from flows.core.errors import SourceError
from flows.core.evaluation.metrics import MAIN_METRIC, classification_metrics, regression_metrics
from flows.core.registry.model import FittedModel
from flows.core.store.feedback import LabelRow
from flows.core.types import LOWER_IS_BETTER, Alert

_READERS = {".csv": pl.read_csv, ".tsv": lambda p: pl.read_csv(p, separator="\t"),
            ".parquet": pl.read_parquet, ".json": pl.read_json, ".jsonl": pl.read_ndjson,
            ".ndjson": pl.read_ndjson}


def read_labels_file(path: Path, targets: set[str], source: str,
                     author: str) -> list[LabelRow]:
    """The labels in a CSV/TSV/Parquet/JSON file, checked for the columns they need."""
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise SourceError(f"cannot read labels from {path.name!r}",
                          f"use one of: {', '.join(sorted(_READERS))}")
    if not path.is_file():
        raise SourceError(f"no labels file at {path}", "check the path")
    try:
        frame = reader(path)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise SourceError(f"cannot read {path.name}: {exc}",
                          "check the file's format and encoding") from exc
    if "request_id" not in frame.columns:
        raise SourceError(f"{path.name} has no 'request_id' column",
                          "add the request_id each prediction was answered with")
    label_column = next((c for c in ("label", *sorted(targets)) if c in frame.columns), None)
    if label_column is None:
        raise SourceError(f"{path.name} has no label column",
                          f"name it 'label' or after the target ({', '.join(sorted(targets))})")
    indices = frame["index"] if "index" in frame.columns else pl.repeat(0, frame.height,
                                                                         eager=True)
    rows = [LabelRow(str(request), int(index), clean_value(label), source, author)
            for request, index, label in zip(frame["request_id"], indices, frame[label_column],
                                             strict=True) if clean_value(label) is not None]
    if not rows:
        raise SourceError(f"{path.name} has no labelled rows", "fill in the label column")
    return rows


@dataclass(frozen=True)
class LivePerformance:
    """How one model does on one slice's labelled traffic, against its test metric."""

    model_version: str
    slice: str
    labelled: int
    corrected: int
    metric: str
    live: float | None
    test: float | None
    live_metrics: dict[str, float]

    @property
    def loss(self) -> float | None:
        """Relative loss of the metric from test to live (positive = worse live)."""
        if self.live is None or self.test is None or self.test == 0:
            return None
        change = (self.live - self.test) if self.metric in LOWER_IS_BETTER \
            else (self.test - self.live)
        return change / abs(self.test)


def live_performance(model: FittedModel, test_metrics: dict[str, float], slice_name: str,
                     labelled: pl.DataFrame) -> LivePerformance:
    """Metrics of ``model`` on its labelled predictions (the ones it logged), computed from
    the logged outputs and the true labels."""
    results = [json.loads(r) for r in labelled["result"].to_list()]
    labels = [json.loads(v) for v in labelled["label"].to_list()]
    live = (_classification(model, results, labels) if model.task.is_classification
            else regression_metrics(np.asarray(labels, dtype=float),
                                    np.asarray([r["prediction"] for r in results], dtype=float)))
    metric = MAIN_METRIC[model.task]
    if metric not in live and "accuracy" in live:
        metric = "accuracy"  # e.g. AUROC is undefined while the labels hold one class
    return LivePerformance(
        model_version=model.version, slice=slice_name, labelled=labelled.height,
        corrected=int(labelled["corrected"].sum()), metric=metric, live=live.get(metric),
        test=test_metrics.get(metric), live_metrics=live)


def _classification(model: FittedModel, results: list[dict[str, Any]],
                    labels: list[Any]) -> dict[str, float]:
    """Class probabilities as logged; labels of a class the model never saw are left out."""
    known, y = encode_labels(labels, model.classes)
    if not known.any():
        return {}
    proba = np.array([[results[i]["probabilities"][name] for name in model.class_names]
                      for i in np.flatnonzero(known)])
    return classification_metrics(y, proba, model.task)


def performance_alert(performance: LivePerformance, min_labels: int,
                      drop: float) -> Alert | None:
    """An alert when enough labelled traffic shows the metric fell by more than ``drop``."""
    loss = performance.loss
    if performance.labelled < min_labels or loss is None or loss <= drop:
        return None
    return Alert(kind="performance", severity="critical" if loss > 2 * drop else "warning",
                 model_version=performance.model_version, slice=performance.slice,
                 statistic=performance.metric, value=performance.live,
                 threshold=performance.test,
                 message=f"{performance.metric} on {performance.labelled} labelled "
                         f"predictions ({performance.slice}) is {performance.live:.4f}, "
                         f"{loss:.0%} worse than its test {performance.test:.4f}")
