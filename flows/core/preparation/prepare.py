"""Preparation: decide what each column is and build the preprocessing the model carries.

The preprocessing is an unfitted scikit-learn ColumnTransformer. It is fitted on the training
part only and saved inside the model's pipeline, so serving applies exactly what training did.
Encodings follow cardinality: one-hot for a few levels, ordinal for more, out-of-fold target
encoding (scikit-learn's TargetEncoder cross-fits) for very many; rare levels are grouped;
levels never seen in training are accepted at prediction time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
    TargetEncoder,
)

from flows.core.errors import SchemaError
from flows.core.preparation.embeddings import (
    SentenceEmbeddings,
    TextFeatures,
    resolve_text_features,
)
from flows.core.preparation.features import DateTimeFeatures, as_documents, as_text, finite_or_nan
from flows.core.types import Exclusion, Task

ONE_HOT_MAX_LEVELS = 15
TARGET_ENCODING_MIN_LEVELS = 100
IDENTIFIER_UNIQUE_SHARE = 0.95
FREE_TEXT_MIN_WORDS = 3.0
TFIDF_MAX_FEATURES = 300
RARE_LEVEL_MIN_ROWS = 5


@dataclass(frozen=True)
class Preparation:
    """Which columns feed the model, how each is encoded, and which were left out and why."""

    numeric: tuple[str, ...] = ()
    low_cardinality: tuple[str, ...] = ()
    high_cardinality: tuple[str, ...] = ()
    very_high_cardinality: tuple[str, ...] = ()
    datetimes: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()
    exclusions: tuple[Exclusion, ...] = field(default_factory=tuple)
    task: Task = Task.BINARY
    text_features: Literal["tfidf", "embeddings"] = "tfidf"
    """How free-text columns become features: TF-IDF, or pretrained sentence embeddings."""

    @property
    def feature_columns(self) -> tuple[str, ...]:
        return (self.numeric + self.low_cardinality + self.high_cardinality
                + self.very_high_cardinality + self.datetimes + self.texts)

    @property
    def input_schema(self) -> dict[str, str]:
        """What the service and batch prediction expect per column."""
        kinds = {c: "number" for c in self.numeric} | {c: "datetime" for c in self.datetimes}
        return kinds | {c: "text" for c in self.feature_columns if c not in kinds}

    def without(self, exclusions: list[Exclusion]) -> Preparation:
        """The same plan with more columns left out."""
        dropped = {e.column for e in exclusions}

        def keep(columns: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(c for c in columns if c not in dropped)

        plan = replace(
            self, numeric=keep(self.numeric), low_cardinality=keep(self.low_cardinality),
            high_cardinality=keep(self.high_cardinality),
            very_high_cardinality=keep(self.very_high_cardinality),
            datetimes=keep(self.datetimes), texts=keep(self.texts),
            exclusions=self.exclusions + tuple(exclusions))
        plan.require_features()
        return plan

    def require_features(self) -> None:
        if not self.feature_columns:
            reasons = "; ".join(f"{e.column}: {e.reason}" for e in self.exclusions)
            raise SchemaError(f"no usable feature column is left ({reasons or 'no columns'})",
                              "add columns that describe each row besides the target")

    def build(self) -> ColumnTransformer:
        """An unfitted transformer producing one dense float matrix (fit it with the target)."""
        parts: list[tuple[str, Pipeline, list[str] | str]] = []
        if self.numeric:
            parts.append(("numeric", make_pipeline(
                FunctionTransformer(finite_or_nan, feature_names_out="one-to-one"),
                SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
                list(self.numeric)))
        if self.low_cardinality:
            parts.append(("one_hot", make_pipeline(
                FunctionTransformer(as_text, feature_names_out="one-to-one"),
                OneHotEncoder(handle_unknown="infrequent_if_exist",
                              min_frequency=RARE_LEVEL_MIN_ROWS, sparse_output=False)),
                list(self.low_cardinality)))
        if self.high_cardinality:
            parts.append(("ordinal", make_pipeline(
                FunctionTransformer(as_text, feature_names_out="one-to-one"),
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                               min_frequency=RARE_LEVEL_MIN_ROWS),
                StandardScaler()), list(self.high_cardinality)))
        if self.very_high_cardinality:
            target_type = "continuous" if self.task is Task.REGRESSION else (
                "binary" if self.task is Task.BINARY else "multiclass")
            folds = (KFold if self.task is Task.REGRESSION else StratifiedKFold)(
                5, shuffle=True, random_state=0)
            parts.append(("target_encoded", make_pipeline(
                FunctionTransformer(as_text, feature_names_out="one-to-one"),
                TargetEncoder(target_type=target_type, cv=folds)),
                list(self.very_high_cardinality)))
        if self.datetimes:
            parts.append(("datetime", make_pipeline(
                DateTimeFeatures(), SimpleImputer(strategy="median", keep_empty_features=True),
                StandardScaler()), list(self.datetimes)))
        for column in self.texts:
            parts.append((f"text_{column}", self._text_featurizer(), [column]))
        return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


    def _text_featurizer(self) -> Pipeline:
        if self.text_features == "embeddings":
            return make_pipeline(SentenceEmbeddings())
        return make_pipeline(
            FunctionTransformer(as_documents, feature_names_out="one-to-one"),
            TfidfVectorizer(max_features=TFIDF_MAX_FEATURES, ngram_range=(1, 2), min_df=2,
                            sublinear_tf=True))


def plan_preparation(features: pd.DataFrame, task: Task = Task.BINARY,
                     text_features: TextFeatures = "auto",
                     budget_s: float | None = None) -> Preparation:
    """Sort the training features into encodings; leave out columns that cannot help."""
    kinds: dict[str, list[str]] = {k: [] for k in (
        "numeric", "low", "high", "very_high", "datetime", "text")}
    exclusions: list[Exclusion] = []
    for name in features.columns:
        column = features[name]
        reason = _exclusion_reason(column, len(features))
        if reason:
            exclusions.append(Exclusion(str(name), reason))
        else:
            kinds[_kind(column)].append(str(name))
    plan = Preparation(
        tuple(kinds["numeric"]), tuple(kinds["low"]), tuple(kinds["high"]),
        tuple(kinds["very_high"]), tuple(kinds["datetime"]), tuple(kinds["text"]),
        tuple(exclusions), task,
        resolve_text_features(text_features, features[kinds["text"]], budget_s)
        if kinds["text"] else "tfidf")
    plan.require_features()
    return plan


def _kind(column: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(column):
        return "datetime"
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return "numeric"
    present = column.dropna()
    distinct = present.nunique()
    if distinct <= ONE_HOT_MAX_LEVELS:
        return "low"
    if _is_free_text(present):
        return "text"
    return "very_high" if distinct >= TARGET_ENCODING_MIN_LEVELS else "high"


def _is_free_text(present: pd.Series) -> bool:
    words = present.astype(str).str.split().str.len()
    return bool(words.mean() >= FREE_TEXT_MIN_WORDS)


def _exclusion_reason(column: pd.Series, rows: int) -> str | None:
    present = column.dropna()
    if present.empty:
        return "all values missing"
    distinct = present.nunique()
    if distinct == 1:
        return "constant: one value in every row"
    if pd.api.types.is_integer_dtype(column) and distinct == rows:
        span = float(present.max()) - float(present.min()) + 1
        if span <= 2 * rows:  # a row counter, even after the split took rows out
            return "identifier: a distinct, near-consecutive integer per row"
    is_text = not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)
                   or pd.api.types.is_datetime64_any_dtype(column))
    if (is_text and distinct > 20 and distinct >= IDENTIFIER_UNIQUE_SHARE * len(present)
            and not _is_free_text(present)):
        return "identifier: a distinct code in almost every row"
    return None
