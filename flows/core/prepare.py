"""Preparation: decide what each column is and build the preprocessing the model carries.

The preprocessing is an unfitted scikit-learn ColumnTransformer. It is fitted on the training
part only and saved inside the model's pipeline, so serving applies exactly what training did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)

from flows.core.errors import SchemaError
from flows.core.types import Exclusion

MISSING_CATEGORY = "__missing__"
ONE_HOT_MAX_LEVELS = 15
IDENTIFIER_UNIQUE_SHARE = 0.95


@dataclass(frozen=True)
class Preparation:
    """Which columns feed the model, how each is encoded, and which were left out and why."""

    numeric: tuple[str, ...]
    low_cardinality: tuple[str, ...]
    high_cardinality: tuple[str, ...]
    exclusions: tuple[Exclusion, ...]

    @property
    def feature_columns(self) -> tuple[str, ...]:
        return self.numeric + self.low_cardinality + self.high_cardinality

    @property
    def input_schema(self) -> dict[str, str]:
        """What the service and batch prediction expect per column: 'number' or 'text'."""
        return {c: "number" for c in self.numeric} | {
            c: "text" for c in self.low_cardinality + self.high_cardinality}

    def build(self) -> ColumnTransformer:
        """An unfitted transformer producing one dense float matrix."""
        parts: list[tuple[str, Pipeline, list[str]]] = []
        if self.numeric:
            parts.append(("numeric", make_pipeline(
                SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
                list(self.numeric)))
        if self.low_cardinality:
            parts.append(("one_hot", make_pipeline(
                FunctionTransformer(as_text, feature_names_out="one-to-one"),
                OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
                list(self.low_cardinality)))
        if self.high_cardinality:
            parts.append(("ordinal", make_pipeline(
                FunctionTransformer(as_text, feature_names_out="one-to-one"),
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                StandardScaler()),
                list(self.high_cardinality)))
        return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


def as_text(values: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Categorical values as strings, with missing values as their own category."""
    frame = pd.DataFrame(values)
    return frame.astype(object).where(frame.notna(), MISSING_CATEGORY).astype(str).to_numpy()


def plan_preparation(features: pd.DataFrame) -> Preparation:
    """Sort the training features into encodings; leave out columns that cannot help."""
    numeric: list[str] = []
    low: list[str] = []
    high: list[str] = []
    exclusions: list[Exclusion] = []
    rows = len(features)
    for name in features.columns:
        column = features[name]
        reason = _exclusion_reason(column, rows)
        if reason:
            exclusions.append(Exclusion(str(name), reason))
        elif pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            numeric.append(str(name))
        elif column.nunique(dropna=True) <= ONE_HOT_MAX_LEVELS:
            low.append(str(name))
        else:
            high.append(str(name))
    plan = Preparation(tuple(numeric), tuple(low), tuple(high), tuple(exclusions))
    if not plan.feature_columns:
        reasons = "; ".join(f"{e.column}: {e.reason}" for e in exclusions) or "no columns"
        raise SchemaError(f"no usable feature column is left ({reasons})",
                          "add columns that describe each row besides the target")
    return plan


def _exclusion_reason(column: pd.Series, rows: int) -> str | None:
    present = column.dropna()
    if present.empty:
        return "all values missing"
    distinct = present.nunique()
    if distinct == 1:
        return "constant: one value in every row"
    if pd.api.types.is_integer_dtype(column) and distinct == rows:
        span = float(present.max()) - float(present.min()) + 1
        if span <= 1.1 * rows:
            return "identifier: a distinct, consecutive integer per row"
    is_text = not pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if is_text and distinct > 20 and distinct >= IDENTIFIER_UNIQUE_SHARE * len(present):
        return "identifier or free text: a distinct value in almost every row"
    return None
