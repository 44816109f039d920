"""One peer's fit on train.csv and its predictions for test.csv, run by benchmarks/peers.py with
the python of that peer's own venv (so this file imports nothing of autopipe's, and each
peer's library only inside its own fitter).

Every peer reads the files the same way: `?` and pandas' usual spellings are missing, and the
label column is read as strings, so a class is spelled as the file spells it. The predictions
CSV has ``prediction`` and, for classifiers, one probability column per class named by the
label string; the last line printed is a JSON object with the fit call's seconds, the median
single-row predict milliseconds (after one warm-up call) and what the peer chose.

    python peer_fit.py TOOL TRAIN TEST TARGET TASK BUDGET OUT WORKDIR
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

LATENCY_CALLS = 50
MAX_CATEGORIES = 255
"""HistGradientBoosting's limit for a native categorical feature (its max_bins)."""


def unchanged(x: pd.DataFrame) -> pd.DataFrame:
    return x


@dataclass(frozen=True)
class Fitted:
    """A fitted peer behind one interface: the raw feature frame in, labels and probabilities
    out, with the peer's own preparation (FLAML's category dtypes, say) inside."""

    model: Any
    """Has ``predict`` and, for classifiers, ``predict_proba``."""
    classes: list[str]
    """The label strings in the order of ``predict_proba``'s columns; empty for regression."""
    detail: str
    prepare: Callable[[pd.DataFrame], pd.DataFrame] = unchanged

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict(self.prepare(x)))

    def proba(self, x: pd.DataFrame) -> np.ndarray | None:
        if not self.classes:
            return None
        proba = self.model.predict_proba(self.prepare(x))
        if isinstance(proba, pd.DataFrame):  # AutoGluon names its columns: align by name
            proba = proba.rename(columns=str)[self.classes]
        return np.asarray(proba, dtype=float)


def labels(classes: Any, task: str) -> list[str]:
    return [] if task == "regression" else [str(c) for c in classes]


def read(path: Path, target: str, task: str) -> tuple[pd.DataFrame, pd.Series]:
    dtype = None if task == "regression" else {target: str}
    frame = pd.read_csv(path, na_values=["?"], dtype=dtype)
    y = frame.pop(target)
    if y.isna().any():
        raise ValueError(f"{int(y.isna().sum())} labels read as missing in {path.name}")
    return frame, y


def text_columns(x: pd.DataFrame) -> list[str]:
    return [c for c in x.columns
            if not (pd.api.types.is_numeric_dtype(x[c]) or pd.api.types.is_bool_dtype(x[c]))]


def as_categories(x: pd.DataFrame, levels: dict[str, pd.Index]) -> pd.DataFrame:
    """Text columns as pandas categories with the training levels (unseen ones missing)."""
    x = x.copy()
    for column, known in levels.items():
        x[column] = pd.Categorical(x[column], categories=known)
    return x


def fit_flaml(x: pd.DataFrame, y: pd.Series, task: str, budget: float, work: Path) -> Fitted:
    from flaml import AutoML

    levels = {c: pd.Index(sorted(x[c].dropna().unique())) for c in text_columns(x)}
    automl = AutoML()
    automl.fit(as_categories(x, levels), y, seed=0, verbose=0, time_budget=budget,
               task="regression" if task == "regression" else "classification")
    classes = labels(getattr(automl, "classes_", None), task)
    return Fitted(automl, classes, str(automl.best_estimator),
                  functools.partial(as_categories, levels=levels))


def fit_autogluon(preset: str) -> Callable[..., Fitted]:
    def fit(x: pd.DataFrame, y: pd.Series, task: str, budget: float, work: Path) -> Fitted:
        from autogluon.tabular import TabularPredictor

        metric = {"binary": "roc_auc", "multiclass": "log_loss",
                  "regression": "root_mean_squared_error"}[task]
        predictor = TabularPredictor(label=str(y.name), problem_type=task, eval_metric=metric,
                                     path=str(work / "autogluon"), verbosity=0)
        predictor.fit(x.assign(**{str(y.name): y}), presets=preset, time_limit=budget)
        predictor.persist()  # AutoGluon's setting for online inference: models kept in memory
        classes = labels(getattr(predictor, "class_labels", None), task)
        return Fitted(predictor, classes, str(predictor.model_best))
    return fit


def fit_hgb(x: pd.DataFrame, y: pd.Series, task: str, budget: float, work: Path) -> Fitted:
    """HistGradientBoosting with its defaults. Text columns are ordinal-encoded: native
    categories where they have at most 255 levels, plain ordinal codes beyond that."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    text = text_columns(x)
    few = [c for c in text if x[c].nunique() <= MAX_CATEGORIES]
    many = [c for c in text if c not in few]
    numeric = [c for c in x.columns if c not in text]

    def ordinal() -> OrdinalEncoder:
        return OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                              encoded_missing_value=np.nan)

    encode = ColumnTransformer([("few", ordinal(), few), ("many", ordinal(), many),
                                ("numeric", "passthrough", numeric)])
    native = [True] * len(few) + [False] * (len(many) + len(numeric))
    learner = (HistGradientBoostingRegressor if task == "regression"
               else HistGradientBoostingClassifier)(categorical_features=native)
    return fit_sklearn(make_pipeline(encode, learner), x, y, task)


def fit_linear(x: pd.DataFrame, y: pd.Series, task: str, budget: float, work: Path) -> Fitted:
    """LogisticRegression or Ridge on median/most-frequent imputed, scaled numbers and one-hot
    text (unknown levels ignored)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    text = text_columns(x)
    numeric = [c for c in x.columns if c not in text]
    encode = ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("text", make_pipeline(SimpleImputer(strategy="most_frequent"),
                               OneHotEncoder(handle_unknown="ignore")), text)])
    # max_iter above the default 100, which stops lbfgs short on the wider one-hot tables.
    learner = Ridge() if task == "regression" else LogisticRegression(max_iter=1000)
    return fit_sklearn(make_pipeline(encode, learner), x, y, task)


def fit_sklearn(pipeline: Any, x: pd.DataFrame, y: pd.Series, task: str) -> Fitted:
    pipeline.fit(objects(x), y)
    return Fitted(pipeline, labels(getattr(pipeline, "classes_", None), task),
                  type(pipeline[-1]).__name__, objects)


def objects(x: pd.DataFrame) -> pd.DataFrame:
    """Text columns as object dtype with NaN for missing, which every sklearn encoder takes."""
    x = x.copy()
    for column in text_columns(x):
        x[column] = x[column].astype(object).where(x[column].notna(), np.nan)
    return x


FITTERS: dict[str, Callable[..., Fitted]] = {
    "flaml": fit_flaml,
    "autogluon-medium": fit_autogluon("medium_quality"),
    "autogluon-best": fit_autogluon("best_quality"),
    "sklearn-hgb": fit_hgb,
    "sklearn-linear": fit_linear,
}


def predictions(model: Fitted, x: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"prediction": model.predict(x)})
    proba = model.proba(x)
    if proba is not None:
        for index, label in enumerate(model.classes):
            out[label] = proba[:, index]
    return out


def latency_ms(model: Fitted, row: pd.DataFrame) -> float:
    model.predict(row)
    times = []
    for _ in range(LATENCY_CALLS):
        started = time.perf_counter()
        model.predict(row)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tool", choices=FITTERS)
    for name in ("train", "test"):
        parser.add_argument(name, type=Path)
    parser.add_argument("target")
    parser.add_argument("task", choices=("binary", "multiclass", "regression"))
    parser.add_argument("budget", type=float)
    parser.add_argument("out", type=Path)
    parser.add_argument("work", type=Path)
    args = parser.parse_args()
    x_train, y_train = read(args.train, args.target, args.task)
    x_test, _ = read(args.test, args.target, args.task)
    started = time.perf_counter()
    model = FITTERS[args.tool](x_train, y_train, args.task, args.budget, args.work)
    fit_s = time.perf_counter() - started
    predictions(model, x_test).to_csv(args.out, index=False)
    print(json.dumps({"fit_s": fit_s, "predict_ms": latency_ms(model, x_test.iloc[[0]]),
                      "detail": model.detail}))


if __name__ == "__main__":
    main()
