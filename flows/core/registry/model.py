"""The artifact every front end predicts with: fitted preprocessing + model + label decoding.

One class serves the flow's evaluation, batch prediction and the BentoML service, so all three
give the same answers for the same rows.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import importlib
import math
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from flows.core.data.cleaning import clean_value
from flows.core.errors import InputValidationError, ModelNotFoundError
from flows.core.types import Task

ARTIFACT_FILE = "model.joblib"
COMPILED_MAX_ROWS = 64
"""Up to this many rows a prediction takes the compiled record path: through pandas and the
ColumnTransformer one row costs ~13 ms before the model sees it (validation and transform,
adult), compiled well under one."""
_CACHED = ("compiled_path", "known_categories")
MOVED_MODULES = {"flows.core.model": "flows.core.registry.model",
                 "flows.core.features": "flows.core.preparation.features",
                 "flows.core.embeddings": "flows.core.preparation.embeddings"}
"""Where the classes a saved model refers to lived before the core was split into packages
(2026-12): artifacts saved then name them there, and still load."""
_DTYPES = {"number": float, "datetime": "datetime64[ns]"}


@dataclass(frozen=True)
class FittedModel:
    """A trained pipeline and what it needs to turn raw rows into labelled predictions.
    Frozen: what it answers with is fixed when it is made (a reference row, a policy's
    threshold come with ``dataclasses.replace``); only what it caches is added later."""

    version: str
    task: Task
    target: str
    learner: str
    classes: tuple[Any, ...]
    input_schema: dict[str, str]
    pipeline: Pipeline
    reference_row: dict[str, Any] | None = None
    """A typical training row: what model-agnostic explanations measure changes against."""
    threshold: float | None = None
    """Binary only: the positive class's probability from which it is predicted (a policy's
    recall floor or false-positive ceiling chose it); None for the most probable class."""
    policy: dict[str, Any] | None = None
    """The policy the model was trained under (Policy.as_dict), if any."""

    @property
    def class_names(self) -> list[str]:
        return [str(c) for c in self.classes]

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.pipeline.predict_proba(features[list(self.input_schema)]))

    def outputs(self, matrix: np.ndarray) -> np.ndarray:
        """Class probabilities (classifiers) or predicted values, from prepared features."""
        estimator = self.pipeline.steps[-1][1]
        if self.task.is_classification:
            return np.asarray(estimator.predict_proba(matrix), dtype=float)
        return np.asarray(estimator.predict(matrix), dtype=float)

    def labels(self, outputs: np.ndarray) -> np.ndarray:
        """The predicted label (or value) per row of ``outputs``."""
        if not self.task.is_classification:
            return outputs
        if self.threshold is not None and len(self.classes) == 2:
            return np.asarray(self.classes, dtype=object)[
                (outputs[:, 1] >= self.threshold).astype(int)]
        return np.asarray(self.classes, dtype=object)[outputs.argmax(axis=1)]

    def predict_frame(self, features: pd.DataFrame) -> pd.DataFrame:
        """One row per input row, in order: ``prediction`` and, for classifiers, one
        probability column per class named exactly as the class label. A few rows take the
        compiled record path (see COMPILED_MAX_ROWS), more the fitted pipeline."""
        compiled = self.compiled_path if len(features) <= COMPILED_MAX_ROWS else None
        if compiled is not None:
            columns = list(self.input_schema)
            outputs, _ = compiled.outputs(few_records(
                features if list(features.columns) == columns else features[columns]))
        else:
            outputs = self.outputs(self.pipeline.named_steps["prepare"].transform(
                features[list(self.input_schema)]))
        probabilities = {name: outputs[:, index] for index, name in enumerate(self.class_names)} \
            if self.task.is_classification else {}
        return pd.DataFrame({"prediction": self.labels(outputs)} | probabilities)

    def frame_from_records(self, records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """Validate JSON-like records against the training schema and build a frame."""
        check_records(records)
        return self.validate_frame(pd.DataFrame.from_records(list(records)))

    def validate_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Check required columns and types; return the features in training order."""
        missing = [c for c in self.input_schema if c not in frame.columns]
        if missing:
            raise InputValidationError(
                f"missing required field(s): {', '.join(missing)}",
                "send every field the model was trained on (a null value is allowed)")
        if len(frame) <= COMPILED_MAX_ROWS:  # pandas costs ~40 us a column per operation
            positions = frame.columns.get_indexer(list(self.input_schema))
            values = frame.to_numpy(dtype=object)[:, positions].T.tolist()
            return pd.DataFrame({column: _column(coerce_values(column_values, column, kind),
                                                 kind, frame.index)
                                 for (column, kind), column_values
                                 in zip(self.input_schema.items(), values, strict=True)},
                                index=frame.index)
        out = pd.DataFrame(index=frame.index)
        for column, kind in self.input_schema.items():
            out[column] = coerce_column(frame[column], column, kind)
        return out

    @functools.cached_property
    def compiled_path(self) -> Any:
        """The compiled record path of this model (flows/core/serving/record_path.py), or None when
        it does not reproduce the pipeline: built on first use, never saved with the model."""
        from flows.core.serving.record_path import compile_record_path

        return compile_record_path(self)

    def __getstate__(self) -> dict[str, Any]:
        """What is saved: the model, not what it caches."""
        return {k: v for k, v in self.__dict__.items() if k not in _CACHED}

    @functools.cached_property
    def known_categories(self) -> dict[str, set[str]]:
        """Per categorical input column, the levels its encoder learnt (as strings)."""
        known: dict[str, set[str]] = {}
        for _, transformer, columns in getattr(self.pipeline.named_steps["prepare"],
                                               "transformers_", []):
            steps = getattr(transformer, "steps", [])
            encoder = next((step for _, step in steps if hasattr(step, "categories_")), None)
            if encoder is None or isinstance(columns, str):
                continue
            for column, levels in zip(columns, encoder.categories_, strict=False):
                known[column] = {str(level) for level in levels}
        return known

    def unseen_categories(self, features: pd.DataFrame) -> dict[str, list[str]]:
        """Values of categorical columns that training never saw (they are encoded as
        unknown or rare; the prediction still comes)."""
        unseen = {}
        for column, levels in self.known_categories.items():
            values = features[column].dropna().astype(str)
            new = sorted(set(values) - levels)
            if new:
                unseen[column] = new
        return unseen

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / ARTIFACT_FILE
        joblib.dump(self, path)
        return path


def load_model(path: Path) -> FittedModel:
    """Load a saved model artifact (a file or the directory holding ``model.joblib``)."""
    file = path / ARTIFACT_FILE if path.is_dir() else path
    if not file.exists():
        raise ModelNotFoundError(f"model artifact {file} is missing",
                                 "train again, or pick another version with --model")
    with _moved_modules():
        model = joblib.load(file)
    if not isinstance(model, FittedModel):
        raise ModelNotFoundError(f"{file} is not an autopipe model", "train a model with autopipe")
    return model


@contextlib.contextmanager
def _moved_modules() -> Iterator[None]:
    """The old module names, for unpickling only: each one an alias of its new module."""
    added = [old for old in MOVED_MODULES if old not in sys.modules]
    for old in added:
        sys.modules[old] = importlib.import_module(MOVED_MODULES[old])
    try:
        yield
    finally:
        for old in added:
            sys.modules.pop(old, None)


def check_records(records: Sequence[Mapping[str, Any]]) -> None:
    """A batch must hold at least one record, each a JSON object."""
    if not records:
        raise InputValidationError("no records to predict",
                                   'send {"records": [{...}, ...]} with at least one record')
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise InputValidationError(f"record {index} is not an object",
                                       "send each record as a JSON object of field: value")


def _column(values: list[Any], kind: str, index: pd.Index) -> Any:
    """A column's coerced values in its training dtype: numbers as an array (the quickest
    for pandas to take), others as a Series, which keeps ``object`` (pandas 3 would turn an
    array of text into its string dtype, with NaN for None)."""
    if kind == "number":
        return np.asarray(values, dtype=float)
    return pd.Series(values, index=index, dtype=_DTYPES.get(kind, object))


def few_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A few rows as dicts of plain Python values, like ``DataFrame.to_dict("records")``
    at a tenth of its cost (which was 2 ms for one row of 49 columns)."""
    columns = list(frame.columns)
    return [dict(zip(columns, row, strict=True))
            for row in frame.to_numpy(dtype=object).tolist()]


def coerce_values(values: list[Any], column: str, kind: str) -> list[Any]:
    """``coerce_column`` for a few values, in plain Python (the same rules, no pandas)."""
    cleaned = [clean_value(v) for v in values]
    if kind == "number":
        return number_values(cleaned, column)
    if kind == "datetime":
        return datetime_values(cleaned, column)
    return [None if is_missing(v) else v for v in cleaned]


def datetime_values(values: list[Any], column: str) -> list[Any]:
    """Timestamps (NaT for missing) from a few values: timestamps as they are and ISO 8601
    text through ``datetime.fromisoformat``, in plain Python (pandas' parser costs ~1 ms a
    column); when any value needs more, all go through ``coerce_column``'s rules."""
    out: list[Any] = []
    for value in values:
        if is_missing(value):
            out.append(pd.NaT)
        elif isinstance(value, (pd.Timestamp, datetime.datetime, np.datetime64)):
            out.append(pd.Timestamp(value))
        else:
            try:
                out.append(pd.Timestamp(datetime.datetime.fromisoformat(value)))
            except (TypeError, ValueError):
                return list(coerce_column(pd.Series(values, dtype=object), column, "datetime"))
    return out


def is_missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def number_values(values: list[Any], column: str) -> list[float]:
    """Numbers (NaN for missing) from JSON-like values; anything else is an error naming it."""
    out = []
    for value in values:
        if is_missing(value):
            out.append(math.nan)
            continue
        try:
            if isinstance(value, (str, int, float)):
                out.append(float(value))
                continue
        except ValueError:
            pass
        raise InputValidationError(f"field {column!r} must be a number, got {value!r}",
                                   f"send a number or null for {column!r}")
    return out


def coerce_column(values: pd.Series, column: str, kind: str) -> pd.Series:
    """One input column as its training type, text cleaned as ingest cleaned it; a value that
    cannot be converted is an error naming it."""
    if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
        values = values.astype(object).map(clean_value)
    if kind == "number":
        converted = pd.to_numeric(values, errors="coerce").astype(float)
        expected = "a number"
    elif kind == "datetime":
        converted = pd.to_datetime(values, errors="coerce", format="mixed")
        expected = "a date or date-time (ISO 8601, e.g. 2024-03-01 12:00:00)"
    else:
        return values.astype(object).where(values.notna(), None)
    bad = converted.isna() & values.notna()
    if bad.any():
        raise InputValidationError(
            f"field {column!r} must be {expected}, got {values[bad].iloc[0]!r}",
            f"send {expected} or null for {column!r}")
    return converted
