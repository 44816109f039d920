"""Target leakage: columns that give the target away.

Such a column is usually recorded after the outcome (a 'total' that includes the amount to
predict, a status set once the case closed). Two checks, on a sample of the training part:
each column scored alone, out of fold, by a small decision tree; and, for a numeric target,
an exact linear identity among the numeric columns and the target (total = fare + tip + ...),
broken by leaving out the column most correlated with the target. Every exclusion carries its
score in the reason, so a person can judge.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from flows.core.types import Exclusion, Task

LEAK_THRESHOLD = 0.995
IDENTITY_THRESHOLD = 0.99
WITHOUT_CULPRIT_MAX = 0.9
SAMPLE_ROWS = 5000
FOLDS = 3


def find_leaks(features: pd.DataFrame, y: np.ndarray, task: Task, columns: tuple[str, ...],
               seed: int) -> list[Exclusion]:
    """The columns that alone score at least LEAK_THRESHOLD (AUROC or R²) out of fold."""
    rng = np.random.default_rng(seed)
    rows = np.arange(len(features))
    if len(rows) > SAMPLE_ROWS:
        rows = np.sort(rng.choice(rows, SAMPLE_ROWS, replace=False))
    target = y[rows]
    if task.is_classification and np.bincount(target).min() < FOLDS:
        return []
    leaks = []
    for column in columns:
        score = _single_column_score(_encode(features[column].iloc[rows]), target, task, seed)
        if score is not None and score >= LEAK_THRESHOLD:
            metric = "R²" if task is Task.REGRESSION else "AUROC"
            leaks.append(Exclusion(column, f"leaks the target: alone it predicts it with "
                                           f"{metric} {score:.3f} out of fold"))
    return leaks


def find_linear_identity(features: pd.DataFrame, y: np.ndarray, columns: tuple[str, ...],
                         seed: int) -> list[Exclusion]:
    """Numeric columns that, with the others, reproduce a numeric target exactly."""
    numeric = [c for c in columns if pd.api.types.is_numeric_dtype(features[c])
               and not pd.api.types.is_bool_dtype(features[c])]
    frame = features[numeric].astype(float).assign(__y=y).replace([np.inf, -np.inf], np.nan)
    frame = frame.dropna()
    if len(numeric) < 2 or len(frame) < 50:
        return []
    if len(frame) > SAMPLE_ROWS:
        frame = frame.sample(SAMPLE_ROWS, random_state=seed)
    target = frame.pop("__y").to_numpy()
    leaks: list[Exclusion] = []
    while len(numeric) >= 2:
        score = _linear_score(frame[numeric].to_numpy(), target, seed)
        if score < IDENTITY_THRESHOLD:
            break
        correlations = frame[numeric].corrwith(pd.Series(target, index=frame.index)).abs()
        culprit = str(correlations.fillna(0).idxmax())
        rest = [c for c in numeric if c != culprit]
        without = _linear_score(frame[rest].to_numpy(), target, seed) if rest else 0.0
        if without > WITHOUT_CULPRIT_MAX:
            break  # the relation does not hinge on one column: a genuinely linear target
        leaks.append(Exclusion(culprit, f"leaks the target: with the other numeric columns it "
                                        f"reproduces it (linear R² {score:.3f}, "
                                        f"{without:.3f} without it)"))
        numeric = rest
    return leaks


def _linear_score(x: np.ndarray, y: np.ndarray, seed: int) -> float:
    folds = KFold(FOLDS, shuffle=True, random_state=seed)
    return float(r2_score(y, cross_val_predict(LinearRegression(), x, y, cv=folds)))


def _encode(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values):
        numbers = values.astype("int64").astype(float)
        return np.where(values.isna(), -1.0, numbers).reshape(-1, 1)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        as_float = values.astype(float).replace([np.inf, -np.inf], np.nan)
        return as_float.fillna(as_float.median() if as_float.notna().any() else 0.0) \
            .to_numpy().reshape(-1, 1)
    codes, _ = pd.factorize(values.astype(object), use_na_sentinel=True)
    return codes.astype(float).reshape(-1, 1)


def _single_column_score(x: np.ndarray, y: np.ndarray, task: Task, seed: int) -> float | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if task is Task.REGRESSION:
            model = DecisionTreeRegressor(min_samples_leaf=5, random_state=seed)
            cv = KFold(FOLDS, shuffle=True, random_state=seed)
            return float(r2_score(y, cross_val_predict(model, x, y, cv=cv)))
        classifier = DecisionTreeClassifier(min_samples_leaf=5, random_state=seed)
        folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
        proba = cross_val_predict(classifier, x, y, cv=folds, method="predict_proba")
        try:
            if task is Task.BINARY:
                return float(roc_auc_score(y, proba[:, 1]))
            return float(roc_auc_score(y, proba, multi_class="ovr"))
        except ValueError:
            return None
