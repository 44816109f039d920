"""Vertical slices: the rows sharing the values of the slice columns (a region, a segment, a
domain), each of which may get its own model.

A slice is named by its values (``island=Biscoe``, ``region=EU|segment=SMB``), the same name
in the catalog's aliases, the release file and the service's answers. Slices are cut from the
run's one train/test split, so a slice model and the global model are compared on exactly the
same held-out rows, which neither saw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from flows.core.errors import SchemaError
from flows.core.evaluation.metrics import classification_metrics, regression_metrics
from flows.core.registry.model import FittedModel
from flows.core.preparation.split import Split
from flows.core.types import Task, beats

MIN_SLICE_ROWS = 300
SEPARATOR = "|"


@dataclass(frozen=True)
class SliceSpec:
    """One slice: its name, its column values, and where its rows are in the split."""

    name: str
    values: dict[str, str]
    train_rows: np.ndarray
    test_rows: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.train_rows) + len(self.test_rows)


@dataclass(frozen=True)
class SlicePlan:
    columns: tuple[str, ...]
    trained: tuple[SliceSpec, ...]
    """Slices with enough rows for their own model."""
    small: dict[str, str]
    """Slices served by the global model, and why they get no model of their own."""


def slice_name(values: Mapping[str, Any], columns: Sequence[str]) -> str:
    """The canonical name of the slice a record (or a row) belongs to."""
    return SEPARATOR.join(f"{c}={_text(values.get(c))}" for c in columns)


def plan_slices(split: Split, columns: Sequence[str], min_rows: int = MIN_SLICE_ROWS) -> SlicePlan:
    """Every slice of the split; those with at least ``min_rows`` rows (train and test) and
    at least two classes in training get a model, the rest are named with the reason."""
    missing = [c for c in columns if c not in split.x_train.columns]
    if missing:
        raise SchemaError(f"slice column(s) not in the data: {', '.join(missing)}",
                          "name columns of the table (not the target) with --slice-by")
    train_names = _names(split.x_train, columns)
    test_names = _names(split.x_test, columns)
    trained, small = [], {}
    for name in sorted(set(train_names) | set(test_names)):
        train_rows = np.flatnonzero(train_names == name)
        test_rows = np.flatnonzero(test_names == name)
        spec = SliceSpec(name, _values(name), train_rows, test_rows)
        reason = _too_small(spec, split, min_rows)
        if reason:
            small[name] = reason
        else:
            trained.append(spec)
    return SlicePlan(tuple(columns), tuple(trained), small)


def slice_split(split: Split, spec: SliceSpec) -> Split:
    """The slice's part of the split. Classes are those the slice's training rows hold (a
    slice model cannot predict a class it never saw); its test part keeps the rows of those
    classes, for the slice model's own evaluation. The comparison with the global model
    (``compare_on_slice``) uses every test row of the slice."""
    test_rows = spec.test_rows
    y_train = split.y_train[spec.train_rows]
    classes, task = split.classes, split.task
    if task.is_classification:
        present = np.unique(y_train)
        classes = tuple(split.classes[i] for i in present)
        test_rows = test_rows[np.isin(split.y_test[test_rows], present)]
        recode = np.full(len(split.classes), -1)
        recode[present] = np.arange(len(present))
        y_train = recode[y_train]
        y_test = recode[split.y_test[test_rows]]
        task = Task.BINARY if len(classes) == 2 else Task.MULTICLASS
    else:
        y_test = split.y_test[test_rows]
    return replace(split, task=task,
                   x_train=split.x_train.iloc[spec.train_rows].reset_index(drop=True),
                   x_test=split.x_test.iloc[test_rows].reset_index(drop=True),
                   y_train=y_train, y_test=y_test, classes=classes,
                   train_rows_before_cap=None)


def compare_on_slice(split: Split, spec: SliceSpec, own: FittedModel,
                     global_model: FittedModel) -> dict[str, dict[str, float]]:
    """The slice model's and the global model's test metrics on every held-out row of the
    slice, both in the global model's classes (a class the slice never saw gets probability
    zero from its model)."""
    features = split.x_test.iloc[spec.test_rows].reset_index(drop=True)
    y = split.y_test[spec.test_rows]
    return {"slice": _metrics(own, features, y, split), "global": _metrics(
        global_model, features, y, split)}


def champion_of(comparison: dict[str, dict[str, float]], metric: str) -> str:
    """'slice' or 'global': whichever scores better on the slice's rows (the global model
    on a tie, the simpler choice)."""
    own, shared = comparison["slice"].get(metric), comparison["global"].get(metric)
    if own is None or shared is None or not np.isfinite(own):
        return "global"
    return "slice" if beats(metric, own, shared) else "global"


def _metrics(model: FittedModel, features: pd.DataFrame, y: np.ndarray,
             split: Split) -> dict[str, float]:
    if not split.task.is_classification:
        return regression_metrics(y, model.predict_frame(features)["prediction"].to_numpy())
    proba = model.predict_proba(features)
    full = np.zeros((len(features), len(split.classes)))
    position = {c: i for i, c in enumerate(split.classes)}
    for column, label in enumerate(model.classes):
        full[:, position[label]] = proba[:, column]
    return classification_metrics(y, full, split.task)


def _too_small(spec: SliceSpec, split: Split, min_rows: int) -> str | None:
    if spec.rows < min_rows:
        return f"{spec.rows} rows, fewer than {min_rows}"
    if len(spec.test_rows) == 0:
        return "no held-out rows to compare on"
    if split.task.is_classification:
        counts = np.bincount(split.y_train[spec.train_rows])
        if (counts > 1).sum() < 2:
            return "fewer than two classes in its rows"
    return None


def _names(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    parts = [np.array([f"{c}={_text(v)}" for v in frame[c].tolist()], dtype=object)
             for c in columns]
    names = parts[0]
    for part in parts[1:]:
        names = names + SEPARATOR + part
    return np.asarray(names, dtype=object)


def _values(name: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in name.split(SEPARATOR))


def _text(value: Any) -> str:
    """A slice value as text: missing values form their own slice, named 'missing'."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
