"""Decide the task from the target and hold out a test part the search never sees."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import polars as pl
from sklearn.model_selection import train_test_split

from flows.core.errors import SchemaError
from flows.core.types import Task

MAX_CLASSES_FOR_INTEGER_TARGET = 20


@dataclass(frozen=True)
class Split:
    """Train and test parts; class labels are encoded as 0..k-1 in ``y_*``; ``classes`` are
    the labels as the source wrote them when the target came through ``as_written``."""

    task: Task
    target: str
    x_train: pd.DataFrame
    x_test: pd.DataFrame
    y_train: np.ndarray
    y_test: np.ndarray
    classes: tuple[object, ...]
    dropped_missing_target: int
    dropped_single_row_classes: tuple[str, ...] = ()
    """Classes seen in one row only: their rows were dropped (they can't be learnt and tested)."""
    train_rows_before_cap: int | None = None
    """Set when the training part was sampled down to the row cap."""


def detect_task(target: pl.Series) -> Task:
    """Binary, multiclass or regression, from the target's type and distinct values."""
    values = target.drop_nulls()
    distinct = values.n_unique()
    if distinct < 2:
        raise SchemaError(
            f"target {target.name!r} has {distinct} distinct value(s); a model needs at least 2",
            "choose another target column, or check that the file has all its rows")
    if target.dtype.is_float():
        whole = bool((values == values.round(0)).all())
        if not whole or distinct > MAX_CLASSES_FOR_INTEGER_TARGET:
            return Task.REGRESSION
    elif target.dtype.is_integer() and distinct > MAX_CLASSES_FOR_INTEGER_TARGET:
        return Task.REGRESSION
    return Task.BINARY if distinct == 2 else Task.MULTICLASS


def cap_training_rows(split: Split, max_rows: int, seed: int) -> Split:
    """Keep a (stratified) sample of at most ``max_rows`` training rows; the test part stays
    whole, so the reported metrics still cover every held-out row."""
    rows = len(split.x_train)
    if rows <= max_rows:
        return split
    stratify = split.y_train if split.task.is_classification else None
    if stratify is not None and np.bincount(stratify).min() < 2:
        stratify = None
    keep, _ = train_test_split(np.arange(rows), train_size=max_rows, random_state=seed,
                               stratify=stratify)
    keep = np.sort(keep)
    return replace(split, x_train=split.x_train.iloc[keep].reset_index(drop=True),
                   y_train=split.y_train[keep], train_rows_before_cap=rows)


def split_frame(frame: pl.DataFrame, target: str, test_size: float, seed: int) -> Split:
    """Drop rows without a usable target, then split (stratified for classification),
    seeded. Classes seen in a single row cannot be both learnt and tested: their rows go
    too, counted and named."""
    labelled = _labelled_rows(frame, target)
    dropped = frame.height - labelled.height
    if labelled.height == 0:
        raise SchemaError(f"target {target!r} is missing in every row",
                          "choose a column that holds the value to predict")
    task = detect_task(labelled[target])
    rare: tuple[str, ...] = ()
    if task.is_classification:
        counts = labelled[target].value_counts()
        singles = counts.filter(pl.col("count") < 2)[target]
        if len(singles):
            rare = tuple(str(v) for v in singles.to_list())
            labelled = labelled.filter(~pl.col(target).is_in(singles.implode()))
            task = detect_task(labelled[target])
    if labelled.height < 10:
        raise SchemaError(f"only {labelled.height} rows have a target value",
                          "a model needs at least a few dozen labelled rows")
    features = labelled.drop(target).to_pandas()
    classes: tuple[object, ...] = ()
    if task.is_classification:
        classes, encoded = _encode_classes(labelled[target])
        stratify: np.ndarray | None = encoded
        y: np.ndarray = encoded
    else:
        stratify, y = None, labelled[target].to_numpy().astype(float)
    x_train, x_test, y_train, y_test = train_test_split(
        features, y, test_size=test_size, random_state=seed, stratify=stratify)
    return Split(
        task=task, target=target,
        x_train=x_train.reset_index(drop=True), x_test=x_test.reset_index(drop=True),
        y_train=np.asarray(y_train), y_test=np.asarray(y_test), classes=classes,
        dropped_missing_target=dropped, dropped_single_row_classes=rare)


def _encode_classes(target: pl.Series) -> tuple[tuple[object, ...], np.ndarray]:
    """The classes, in order, and each row's class position. A target in its written forms
    (an Enum: flows/core/data/labels.py) keeps the order of the values ingest stored."""
    if isinstance(target.dtype, pl.Enum):
        codes, encoded = np.unique(target.to_physical().to_numpy(), return_inverse=True)
        categories = target.dtype.categories
        return tuple(categories[int(code)] for code in codes), encoded
    classes, encoded = np.unique(target.to_numpy(), return_inverse=True)
    return tuple(c.item() if hasattr(c, "item") else c for c in classes), encoded


def _labelled_rows(frame: pl.DataFrame, target: str) -> pl.DataFrame:
    """Rows whose target is present (and finite, for a numeric target)."""
    usable = pl.col(target).is_not_null()
    if frame.schema[target].is_float():
        usable = usable & pl.col(target).is_finite()
    return frame.filter(usable)
