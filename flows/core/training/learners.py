"""One configuration fitted on one fold: the library estimators, each stopped early on the
fold's held-out rows and, when the budget asks, at a deadline.

Boosted trees (LightGBM, XGBoost, CatBoost) stop adding trees when the held-out loss has not
improved for EARLY_STOPPING_ROUNDS rounds, and a callback stops them at the fold's deadline
with the trees they have. Forests grow in chunks until they have their trees or the deadline
comes, and so does scikit-learn's histogram boosting. Linear models run to the end. With
no deadline (a run with a model count) nothing depends on the clock: the same data and seed
give the same model, bit for bit (the thread count is fixed, LightGBM runs deterministic).

Predictions go through the libraries' own fast paths (LightGBM's booster, XGBoost's in-place
predict): a bag predicts with every fold model, and the scikit-learn wrappers' per-call
overhead, times k, is most of a single-row prediction.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.special import expit, softmax
from sklearn.exceptions import ConvergenceWarning

from flows.core.types import Task

EARLY_STOPPING_ROUNDS = 50
CHUNK = 25
"""Trees a forest (or iterations scikit-learn's histogram booster) grows between two looks
at the clock."""
ROUNDS_PARAM = {"lgbm": "n_estimators", "xgboost": "n_estimators", "catboost": "iterations",
                "rf": "n_estimators", "extra_tree": "n_estimators", "hgb": "max_iter"}
"""The parameter that counts a learner's rounds (trees), for the learners that have one."""
DEFAULT_ROUNDS = {"lgbm": 100, "xgboost": 100, "catboost": 1000, "rf": 100,
                  "extra_tree": 100, "hgb": 100}
BOOSTED = ("lgbm", "xgboost", "catboost", "hgb")
MIN_ROUNDS = 30
"""Fewer trees than this make a weak model at any learning rate: not worth a fit."""
MAX_ROUNDS = 2000
"""Configurations asking for more trees get this many at a proportionally higher learning
rate (FLAML's zero-shot portfolio has one of 31,204 trees at 0.009): early stopping rarely
lets more through, and a bag pays each tree k times when it predicts."""
MAX_LEARNING_RATE = 0.3
LEAF_LIMITS = ("max_leaf_nodes", "max_leaves", "num_leaves")
DEFAULT_LEARNING_RATE = {"lgbm": 0.1, "hgb": 0.1, "xgboost": 0.3}
PARALLEL_PREDICT_ROWS = 1_000
SMALL_TABLE_CELLS = 2_000_000
"""Below this many training cells (rows x prepared columns) a fit runs on one thread: the
threads' start-up and hand-offs cost more than they save (LightGBM: 0.04 s on one thread,
0.34 s on two, titanic on a busy two-core machine)."""


@dataclass(frozen=True)
class Config:
    """One configuration of the portfolio: a learner and its parameters (the library's own
    names), and where it came from."""

    name: str
    learner: str
    params: dict[str, Any]
    origin: str
    share: float = 1.0
    """Its weight when the portfolio's time is divided among the configurations left."""
    flaml_params: dict[str, Any] | None = None
    """The same configuration in FLAML's names, where FLAML's tuner can start from it."""



@dataclass(frozen=True)
class Matrix:
    """The prepared training rows a candidate learns from."""

    x: np.ndarray
    y: np.ndarray
    weights: np.ndarray | None
    task: Task
    n_classes: int

    def rows(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        return self.x[index], self.y[index], None if self.weights is None \
            else self.weights[index]


@dataclass(frozen=True)
class FoldFit:
    """A fitted fold model and how its fit went."""

    estimator: Any = field(repr=False)
    seconds: float
    rounds: int
    """Trees it kept (boosting: up to its best round); 0 for learners without rounds."""
    stopped: str
    """'early stopping', 'deadline' or 'complete'."""


def fit_fold(config: Config, data: Matrix, fit_rows: np.ndarray, valid_rows: np.ndarray,
             seed: int, n_jobs: int, deadline: float | None = None) -> FoldFit:
    """Fit ``config`` on ``fit_rows``, stopping early on ``valid_rows`` (boosted trees) and at
    ``deadline`` (a ``time.monotonic()`` reading) when one is given."""
    started = time.monotonic()
    x, y, w = data.rows(fit_rows)
    x_valid, y_valid = data.x[valid_rows], data.y[valid_rows]
    with warnings.catch_warnings():
        # Library defaults that stop before converging are what they are, not news.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        estimator, rounds, stopped = _FITTERS[config.learner](
            _within_rows(config, len(y)), data.task, x, y, w, x_valid, y_valid, seed, n_jobs,
            deadline)
    return FoldFit(estimator, time.monotonic() - started, rounds, stopped)


def _within_rows(config: Config, rows: int) -> Config:
    """A tree cannot have more leaves than rows: a leaf limit above that is cut to it.
    Libraries size their buffers by the limit (scikit-learn's best-first trees allocate
    node arrays for every allowed leaf), and FLAML's zero-shot configurations, mined on
    large tables, ask for up to 25,000 leaves: on a 216-row table a bagged forest's
    fits left 3.7 GB of the process's memory behind."""
    limits = {k: v for k, v in config.params.items() if k in LEAF_LIMITS and v and v > rows}
    return replace(config, params=config.params | dict.fromkeys(limits, max(2, rows))) \
        if limits else config


def rounds_of(config: Config) -> int:
    """Trees (boosting rounds) ``config`` asks for; 1 for learners without rounds."""
    key = ROUNDS_PARAM.get(config.learner)
    if key is None:
        return 1
    return int(config.params.get(key) or DEFAULT_ROUNDS[config.learner])


def fit_threads(data: Matrix, n_jobs: int) -> int:
    """Threads for one fit on ``data`` (``n_jobs`` < 1: every core)."""
    if data.x.size < SMALL_TABLE_CELLS:
        return 1
    return n_jobs if n_jobs > 0 else max(1, os.cpu_count() or 1)


def fewer_rounds(config: Config, rounds: int) -> Config:
    """``config`` with ``rounds`` trees; boosted trees learn proportionally faster, so the
    model takes about as large steps in all (a learning rate CatBoost chooses itself stays
    its choice: it sets it from the iterations)."""
    key = ROUNDS_PARAM.get(config.learner)
    if key is None:
        return config
    asked = rounds_of(config)
    params = dict(config.params) | {key: rounds}
    rate = params.get("learning_rate", DEFAULT_LEARNING_RATE.get(config.learner))
    if config.learner in BOOSTED and rate is not None and rounds < asked:
        params["learning_rate"] = max(float(rate),
                                      min(MAX_LEARNING_RATE, float(rate) * asked / rounds))
    return replace(config, params=params)


def predict_outputs(estimator: Any, x: np.ndarray, task: Task, n_classes: int) -> np.ndarray:
    """Class probabilities (rows x classes, every class) or regression values; a few rows
    on one thread (threads cost more than they save there)."""
    library = type(estimator).__module__.split(".")[0]
    few = len(x) < PARALLEL_PREDICT_ROWS
    if library == "lightgbm":
        raw = np.asarray(estimator.booster_.predict(x, num_threads=1 if few else 0),
                         dtype=float)
    elif library == "xgboost":
        best = getattr(estimator, "best_iteration", None)
        raw = np.asarray(estimator.get_booster().inplace_predict(
            x, iteration_range=(0, best + 1) if best is not None else (0, 0)), dtype=float)
    elif library == "catboost":
        threads = 1 if few else -1
        raw = np.asarray(estimator.predict(x, prediction_type="RawFormulaVal" if task is
                                           Task.REGRESSION else "Probability",
                                           thread_count=threads), dtype=float)
        if task.is_classification:
            return raw
    elif type(estimator).__name__ in _LINEAR:
        return _linear_outputs(estimator, x, task, n_classes)
    elif task is Task.REGRESSION:
        raw = np.asarray(estimator.predict(x), dtype=float)
    else:
        return _all_classes(estimator, np.asarray(estimator.predict_proba(x), dtype=float),
                            n_classes)
    if task is Task.REGRESSION:
        return raw.ravel()
    if raw.ndim == 1:
        return np.column_stack([1 - raw, raw])
    return raw


_LINEAR = ("Ridge", "LogisticRegression", "LinearRegression")


def _linear_outputs(estimator: Any, x: np.ndarray, task: Task, n_classes: int) -> np.ndarray:
    """A fitted linear model's outputs as scikit-learn computes them, without
    its input checks: they were ~0.5 ms of every call, and a bag calls each fold model."""
    scores = np.asarray(x, dtype=float) @ np.asarray(estimator.coef_, dtype=float).T \
        + estimator.intercept_
    if task is Task.REGRESSION:
        return np.asarray(scores, dtype=float).ravel()
    if scores.shape[1] == 1:
        positive = expit(scores[:, 0])
        proba = np.column_stack([1 - positive, positive])
    else:
        proba = softmax(scores, axis=1)
    return _all_classes(estimator, proba, n_classes)


def _all_classes(estimator: Any, proba: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities for every class, zero for a class the fit never saw."""
    if proba.shape[1] == n_classes:
        return proba
    full = np.zeros((len(proba), n_classes))
    full[:, np.asarray(estimator.classes_, dtype=int)] = proba
    return full


def _fit_lgbm(config: Config, task: Task, x: np.ndarray, y: np.ndarray, w: np.ndarray | None,
              x_valid: np.ndarray, y_valid: np.ndarray, seed: int, n_jobs: int,
              deadline: float | None) -> tuple[Any, int, str]:
    import lightgbm

    cls = lightgbm.LGBMRegressor if task is Task.REGRESSION else lightgbm.LGBMClassifier
    estimator = cls(**config.params | {"random_state": seed, "n_jobs": n_jobs, "verbose": -1,
                                       "deterministic": True, "force_col_wise": True})
    callbacks: list[Any] = [lightgbm.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)]
    if deadline is not None:
        callbacks.append(_lightgbm_deadline(deadline))
    estimator.fit(x, y, sample_weight=w, eval_X=(x_valid,), eval_y=(y_valid,),
                  callbacks=callbacks)
    kept = int(estimator.best_iteration_ or estimator.n_estimators_)
    return estimator, kept, _why_stopped(kept, rounds_of(config), deadline)


def _lightgbm_deadline(deadline: float) -> Any:
    import lightgbm

    def stop_at_deadline(env: Any) -> None:
        if time.monotonic() >= deadline:
            raise lightgbm.callback.EarlyStopException(env.iteration, env.evaluation_result_list)
    stop_at_deadline.order = 40  # type: ignore[attr-defined]  # after early stopping
    return stop_at_deadline


def _fit_xgboost(config: Config, task: Task, x: np.ndarray, y: np.ndarray,
                 w: np.ndarray | None, x_valid: np.ndarray, y_valid: np.ndarray, seed: int,
                 n_jobs: int, deadline: float | None) -> tuple[Any, int, str]:
    import xgboost

    cls = xgboost.XGBRegressor if task is Task.REGRESSION else xgboost.XGBClassifier
    callbacks = [_xgboost_deadline(deadline)] if deadline is not None else None
    estimator = cls(**config.params | {"random_state": seed, "n_jobs": n_jobs, "verbosity": 0,
                                       "early_stopping_rounds": EARLY_STOPPING_ROUNDS,
                                       "callbacks": callbacks})
    estimator.fit(x, y, sample_weight=w, eval_set=[(x_valid, y_valid)], verbose=False)
    estimator.set_params(callbacks=None)  # a fitted model keeps no reference to the clock
    kept = int(estimator.best_iteration) + 1
    return estimator, kept, _why_stopped(kept, rounds_of(config), deadline)


def _xgboost_deadline(deadline: float) -> Any:
    import xgboost

    class StopAtDeadline(xgboost.callback.TrainingCallback):  # type: ignore[misc]
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            return time.monotonic() >= deadline

    return StopAtDeadline()


def _fit_catboost(config: Config, task: Task, x: np.ndarray, y: np.ndarray,
                  w: np.ndarray | None, x_valid: np.ndarray, y_valid: np.ndarray, seed: int,
                  n_jobs: int, deadline: float | None) -> tuple[Any, int, str]:
    import catboost

    cls = catboost.CatBoostRegressor if task is Task.REGRESSION \
        else catboost.CatBoostClassifier
    estimator = cls(**config.params | {
        "random_seed": seed, "thread_count": n_jobs, "verbose": False,
        "allow_writing_files": False, "od_type": "Iter", "od_wait": EARLY_STOPPING_ROUNDS,
        "use_best_model": True})
    callbacks = [_CatBoostDeadline(deadline)] if deadline is not None else None
    estimator.fit(x, y, sample_weight=w, eval_set=(x_valid, y_valid), callbacks=callbacks)
    kept = int(estimator.tree_count_)
    return estimator, kept, _why_stopped(kept, rounds_of(config), deadline)


class _CatBoostDeadline:
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def after_iteration(self, info: Any) -> bool:
        return time.monotonic() < self.deadline  # False stops training


def _fit_forest(config: Config, task: Task, x: np.ndarray, y: np.ndarray,
                w: np.ndarray | None, x_valid: np.ndarray, y_valid: np.ndarray, seed: int,
                n_jobs: int, deadline: float | None) -> tuple[Any, int, str]:
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )

    kinds = {("rf", False): RandomForestClassifier, ("rf", True): RandomForestRegressor,
             ("extra_tree", False): ExtraTreesClassifier,
             ("extra_tree", True): ExtraTreesRegressor}
    cls = kinds[(config.learner, task is Task.REGRESSION)]
    estimator = cls(**config.params | {"random_state": seed, "n_jobs": n_jobs})
    return _grown(estimator, "n_estimators", rounds_of(config), x, y, w, deadline)


def _grown(estimator: Any, key: str, rounds: int, x: np.ndarray, y: np.ndarray,
           w: np.ndarray | None, deadline: float | None) -> tuple[Any, int, str]:
    """A scikit-learn ensemble fitted with ``rounds`` trees (or boosting iterations, ``key``),
    grown CHUNK at a time with warm_start until it has them, stops early by itself, or the
    deadline comes. Growing in chunks gives the same model as one fit of the same size."""
    if deadline is None:
        estimator.set_params(**{key: rounds}).fit(x, y, sample_weight=w)
        return estimator, _rounds_done(estimator, key), "complete"
    estimator.set_params(**{key: min(CHUNK, rounds), "warm_start": True})
    while True:
        estimator.fit(x, y, sample_weight=w)
        done, asked = _rounds_done(estimator, key), estimator.get_params()[key]
        if done < asked or asked >= rounds or time.monotonic() >= deadline:
            break
        estimator.set_params(**{key: min(rounds, asked + CHUNK)})
    estimator.set_params(warm_start=False)
    stopped = "complete" if done >= rounds else "early stopping" if done < asked \
        else "deadline"
    return estimator, done, stopped


def _rounds_done(estimator: Any, key: str) -> int:
    """Trees a forest holds, or iterations a histogram booster ran (it may stop early)."""
    return int(getattr(estimator, "n_iter_", None) or estimator.get_params()[key])


def _fit_linear(config: Config, task: Task, x: np.ndarray, y: np.ndarray,
                w: np.ndarray | None, x_valid: np.ndarray, y_valid: np.ndarray, seed: int,
                n_jobs: int, deadline: float | None) -> tuple[Any, int, str]:
    from sklearn.linear_model import LogisticRegression, Ridge

    if task is Task.REGRESSION:
        estimator: Any = Ridge(**config.params)
    else:
        estimator = LogisticRegression(**config.params | {"random_state": seed})
    return estimator.fit(x, y, sample_weight=w), 0, "complete"


def _fit_hgb(config: Config, task: Task, x: np.ndarray, y: np.ndarray, w: np.ndarray | None,
             x_valid: np.ndarray, y_valid: np.ndarray, seed: int, n_jobs: int,
             deadline: float | None) -> tuple[Any, int, str]:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingRegressor if task is Task.REGRESSION \
        else HistGradientBoostingClassifier
    return _grown(cls(**config.params | {"random_state": seed}), "max_iter", rounds_of(config),
                  x, y, w, deadline)


def _why_stopped(kept: int, asked: int, deadline: float | None) -> str:
    if asked and kept >= asked:
        return "complete"
    if deadline is not None and time.monotonic() >= deadline:
        return "deadline"
    return "early stopping"


_FITTERS = {"lgbm": _fit_lgbm, "xgboost": _fit_xgboost, "catboost": _fit_catboost,
            "rf": _fit_forest, "extra_tree": _fit_forest, "linear": _fit_linear,
            "hgb": _fit_hgb}
LEARNERS = tuple(_FITTERS)
