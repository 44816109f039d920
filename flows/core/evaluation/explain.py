"""Why a model predicts what it does, told in the raw columns the user sends.

The learner sees an encoded matrix (one-hot levels, missing-value indicators, date parts,
TF-IDF terms); people think in the columns of their table. Every view here is therefore mapped
back to raw columns: the encoded columns a raw column produced are summed, which is exact for
additive contributions and for importances that add up.

Three views. Permutation importance on held-out rows is model-agnostic and the honest ranking.
The learner's own importance is free but measured on training data. Per-record contributions
use the exact tree SHAP values LightGBM, XGBoost and CatBoost compute, in the learner's raw
margin space; any other learner gets a model-agnostic approximation in probability (or
prediction) space. ``Explanation.output`` names the space, so numbers are never misread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flows.core.registry.model import FittedModel
from flows.core.training.losses import loss

BASE = "(base)"
MIN_PERMUTATION_ROWS = 200
MISSING_INDICATOR_PREFIX = "missingindicator_"


@dataclass(frozen=True)
class Explanation:
    """One record's output split into a base value plus one additive part per raw column."""

    base: float
    contributions: dict[str, float]
    output: str
    """The space of every number here, e.g. "log-odds of class yes" or "prediction"."""

    @property
    def value(self) -> float:
        """The explained output: the base plus every contribution."""
        return self.base + sum(self.contributions.values())

    def as_dict(self) -> dict[str, float]:
        """The base under ``(base)`` and the contributions: a flat JSON-ready mapping."""
        return {BASE: self.base} | self.contributions


def permutation_importance_raw(model: FittedModel, features: pd.DataFrame, y: np.ndarray,
                               seed: int, max_rows: int = 2000, repeats: int = 3,
                               seconds: float | None = None) -> dict[str, float]:
    """Mean increase of the held-out loss (log loss, or RMSE for regression) when one raw
    column is shuffled, per raw column, largest first. ``y`` holds class indices 0..k-1 in
    ``model.classes`` order for classifiers. Shuffling the raw column moves every encoded
    feature it produced together, which per-feature permutation would not. With ``seconds``,
    fewer rows (at least MIN_PERMUTATION_ROWS) when all of them would take longer."""
    rng = np.random.default_rng(seed)
    frame = features[list(model.input_schema)].reset_index(drop=True)
    y = np.asarray(y)
    frame, y = _sampled(frame, y, max_rows, rng)
    started = time.perf_counter()
    reference = _losses(model, frame, y, 1)[0]
    if seconds is not None:
        per_row = (time.perf_counter() - started) / len(frame)
        affordable = int(seconds / max(per_row * repeats * len(frame.columns), 1e-9))
        if affordable < len(frame):
            frame, y = _sampled(frame, y, max(MIN_PERMUTATION_ROWS, affordable), rng)
            reference = _losses(model, frame, y, 1)[0]
    importance = {}
    for column in frame.columns:
        shuffled = pd.concat([_shuffled(frame, column, rng) for _ in range(repeats)],
                             ignore_index=True)
        importance[column] = float(np.mean(_losses(model, shuffled, y, repeats)) - reference)
    return dict(sorted(importance.items(), key=lambda item: item[1], reverse=True))


def _sampled(frame: pd.DataFrame, y: np.ndarray, rows: int,
             rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    if len(frame) <= rows:
        return frame, y
    keep = np.sort(rng.choice(len(frame), size=rows, replace=False))
    return frame.iloc[keep].reset_index(drop=True), y[keep]


def learner_importance(model: FittedModel) -> dict[str, float]:
    """The learner's own importance per raw column, summing to 1, largest first; empty when
    the learner has none (an ensemble, histogram gradient boosting) or the encoded features
    cannot be traced back to raw columns."""
    weights = _learner_weights(_learner(model))
    owners = raw_feature_owners(model)
    if weights is None or owners is None or len(weights) != len(owners):
        return {}
    by_column = _sum_by_owner(np.abs(weights), owners, list(model.input_schema))
    total = sum(by_column.values())
    if not np.isfinite(total) or total <= 0:
        return {}
    shares = {column: value / total for column, value in by_column.items()}
    return dict(sorted(shares.items(), key=lambda item: item[1], reverse=True))


def contributions(model: FittedModel, features: pd.DataFrame,
                  background: pd.DataFrame | Mapping[str, Any] | None = None,
                  ) -> list[Explanation]:
    """Per record: a base value and one additive contribution per raw column, summing exactly
    to the explained output. LightGBM, XGBoost and CatBoost give exact tree SHAP values in
    their raw space: log-odds of the positive class (binary), the softmax score of the
    predicted class (multiclass), the prediction (regression). Other learners are explained
    in probability (or prediction) space against a reference row built from ``background``:
    training rows, or the stored output of ``reference_values``. Without one, the records
    themselves are the background, which says nothing useful about a single record."""
    records = features[list(model.input_schema)].reset_index(drop=True)
    if records.empty:
        return []
    native = _native_contributions(model, records)
    if native is not None:
        return native
    if background is None:
        background = records
    if isinstance(background, pd.DataFrame):
        background = reference_values(model, background)
    return _reference_contributions(model, records, background)


def reference_values(model: FittedModel, background: pd.DataFrame) -> dict[str, Any]:
    """A typical row, JSON-ready so it can be stored with the model: the median of number
    and date columns (dates as ISO strings), the most frequent value of the others."""
    reference: dict[str, Any] = {}
    for column, kind in model.input_schema.items():
        values = background[column].dropna()
        if values.empty:
            reference[column] = None
        elif kind == "number":
            reference[column] = float(pd.to_numeric(values, errors="coerce").median())
        elif kind == "datetime":
            reference[column] = pd.to_datetime(values, format="mixed").median().isoformat()
        else:
            top = values.mode().iloc[0]
            reference[column] = top.item() if hasattr(top, "item") else top
    return reference


def raw_feature_owners(model: FittedModel) -> list[str] | None:
    """The raw column behind each column of the encoded matrix, or None when the fitted
    preprocessing cannot be read that way (then no view claims a mapping it lacks)."""
    prepare = model.pipeline.named_steps["prepare"]
    try:
        width = max((s.stop for s in prepare.output_indices_.values()), default=0)
        owners: list[str | None] = [None] * width
        for name, transformer, columns in prepare.transformers_:
            span = prepare.output_indices_[name]
            if span.stop > span.start:
                owners[span] = _transformer_owners(transformer, [str(c) for c in columns],
                                                   span.stop - span.start)
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    resolved = [owner for owner in owners if owner is not None]
    return resolved if resolved and len(resolved) == len(owners) else None


def _transformer_owners(transformer: Any, columns: list[str], width: int) -> list[str | None]:
    """A single-column transformer owns all it outputs (TF-IDF terms need no names);
    otherwise each output name starts with its column, or with the missing-value prefix."""
    if len(columns) == 1:
        return [columns[0]] * width
    names = [str(n) for n in transformer.get_feature_names_out()]
    if len(names) != width:
        raise ValueError("output names do not match the output width")
    return [_owner(name, columns) for name in names]


def _owner(name: str, columns: list[str]) -> str | None:
    for stem in (name, name.removeprefix(MISSING_INDICATOR_PREFIX)):
        matches = [c for c in columns if stem == c or stem.startswith(f"{c}_")]
        if matches:
            return max(matches, key=len)  # "a_b_x" belongs to "a_b", not to "a"
    return None


def _sum_by_owner(values: np.ndarray, owners: list[str],
                  columns: list[str]) -> dict[str, float]:
    """Per raw column in ``columns`` order, the sum over the encoded features it produced
    (0 for a column that produced none)."""
    totals = dict.fromkeys(columns, 0.0)
    for owner, value in zip(owners, values, strict=True):
        totals[owner] += float(value)
    return totals


def _learner(model: FittedModel) -> Any:
    """The fitted library estimator; FLAML's search result wraps it."""
    step = model.pipeline.named_steps["model"]
    inner = getattr(step, "estimator", None) if _library(step) == "flaml" else None
    return step if inner is None else inner


def _library(estimator: Any) -> str:
    return type(estimator).__module__.split(".")[0]


def _learner_weights(estimator: Any) -> np.ndarray | None:
    try:
        if _library(estimator) == "lightgbm":  # split counts rank poorly; gain is what counts
            return np.asarray(estimator.booster_.feature_importance(importance_type="gain"),
                              dtype=float)
        if hasattr(estimator, "feature_importances_"):
            return np.asarray(estimator.feature_importances_, dtype=float).ravel()
        if hasattr(estimator, "coef_"):  # features are standardised: |coef| compares
            return np.abs(np.atleast_2d(np.asarray(estimator.coef_, dtype=float))).sum(axis=0)
    except (AttributeError, ValueError, TypeError):
        return None
    return None


def _shuffled(frame: pd.DataFrame, column: str, rng: np.random.Generator) -> pd.DataFrame:
    out = frame.copy()
    out[column] = frame[column].iloc[rng.permutation(len(frame))].set_axis(frame.index)
    return out


def _losses(model: FittedModel, frame: pd.DataFrame, y: np.ndarray, parts: int) -> list[float]:
    """The loss of each of ``parts`` equal, consecutive blocks of ``frame`` (one predict)."""
    metric = "log_loss" if model.task.is_classification else "rmse"
    return [loss(metric, y, block) for block in np.array_split(_outputs(model, frame), parts)]


def _outputs(model: FittedModel, frame: pd.DataFrame) -> np.ndarray:
    """Class probabilities for classifiers, predictions for regressors."""
    if model.task.is_classification:
        return np.asarray(model.pipeline.predict_proba(frame), dtype=float)
    return np.asarray(model.pipeline.predict(frame), dtype=float)


def _native_contributions(model: FittedModel,
                          records: pd.DataFrame) -> list[Explanation] | None:
    """Exact tree SHAP values of the libraries that compute them, or None."""
    estimator = _learner(model)
    compute = _NATIVE.get(_library(estimator))
    owners = raw_feature_owners(model) if compute else None
    if compute is None or owners is None:
        return None
    matrix = np.asarray(model.pipeline.named_steps["prepare"].transform(records), dtype=float)
    values = np.asarray(compute(estimator, matrix), dtype=float)
    if matrix.shape[1] != len(owners) or values.size % (len(records) * (len(owners) + 1)):
        return None
    values = values.reshape(len(records), -1, len(owners) + 1)  # (rows, outputs, F + 1)
    explained = values.sum(axis=2).argmax(axis=1)  # softmax keeps the order of raw scores
    return [Explanation(base=float(values[row, out, -1]),
                        contributions=_sum_by_owner(values[row, out, :-1], owners,
                                                     list(records.columns)),
                        output=_native_space(model, values.shape[1], int(out)))
            for row, out in enumerate(explained)]


def _native_space(model: FittedModel, outputs: int, index: int) -> str:
    if not model.task.is_classification:
        return "prediction"
    if outputs == 1:
        return f"log-odds of class {model.class_names[-1]}"
    return f"raw score (softmax input) of class {model.class_names[index]}"


def _lightgbm_values(estimator: Any, matrix: np.ndarray) -> np.ndarray:
    return np.asarray(estimator.predict(matrix, pred_contrib=True))


def _xgboost_values(estimator: Any, matrix: np.ndarray) -> np.ndarray:
    from xgboost import DMatrix

    return np.asarray(estimator.get_booster().predict(DMatrix(matrix), pred_contribs=True))


def _catboost_values(estimator: Any, matrix: np.ndarray) -> np.ndarray:
    from catboost import Pool

    return np.asarray(estimator.get_feature_importance(Pool(matrix), type="ShapValues"))


_NATIVE: dict[str, Callable[[Any, np.ndarray], np.ndarray]] = {
    "lightgbm": _lightgbm_values, "xgboost": _xgboost_values, "catboost": _catboost_values}


def _reference_contributions(model: FittedModel, records: pd.DataFrame,
                             reference: Mapping[str, Any]) -> list[Explanation]:
    """Each column's part is the output change when that column alone takes its reference
    value; the parts are then adjusted to add up exactly to output minus base (the output on
    the all-reference row). One predict call covers every record and column."""
    row = model.validate_frame(pd.DataFrame([dict(reference)]))
    columns = list(records.columns)
    blocks = [records] + [records.assign(**{c: row[c].iloc[0]}) for c in columns]
    outputs = _outputs(model, pd.concat([*blocks, row], ignore_index=True))
    scores, base, spaces = _explained_scores(model, outputs, len(records))
    effects = scores[0] - scores[1:]  # (columns, records)
    return [Explanation(base=float(base[i]), output=spaces[i], contributions=dict(zip(
                columns, _balanced(effects[:, i], scores[0, i] - base[i]), strict=True)))
            for i in range(len(records))]


def _explained_scores(model: FittedModel, outputs: np.ndarray,
                      records: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The explained output of every block row, shaped (blocks, records), the base per
    record, and the name of each record's output space. Classifiers explain the positive
    class if binary, the predicted class if multiclass."""
    if not model.task.is_classification:
        scores = outputs[:-1].reshape(-1, records)
        return scores, np.full(records, outputs[-1]), ["prediction"] * records
    own = outputs[:records]
    chosen = np.full(records, 1) if own.shape[1] == 2 else own.argmax(axis=1)
    scores = outputs[:-1].reshape(-1, records, own.shape[1])[:, np.arange(records), chosen]
    spaces = [f"probability of class {model.class_names[c]}" for c in chosen]
    return scores, outputs[-1, chosen], spaces


def _balanced(effects: np.ndarray, total: float) -> list[float]:
    """Effects adjusted to sum to ``total``: the gap left by interactions goes to each column
    in proportion to the size of its effect (equally if none moved the output). Plain
    rescaling by total / sum would blow up when the effects nearly cancel; this cannot."""
    gap = total - float(effects.sum())
    size = np.abs(effects)
    weights = size / size.sum() if size.sum() > 0 else np.full(len(effects), 1 / len(effects))
    return [float(v) for v in effects + gap * weights]
