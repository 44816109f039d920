"""The portfolio: strong configurations, fitted in a fixed order before any search.

At a one-minute budget on two cores a good default beats a search (TabArena: CatBoost with
default settings beats LightGBM's default by ~180 Elo; tuning closes that gap only after
thousands of seconds). So a run first fits, bagged, the entries of ``PORTFOLIO`` in order:
each names a learner and either fixed parameters or a rank in FLAML's zero-shot portfolio
(``flaml.default``: configurations mined offline, chosen for this table from its size, width
and classes). The budget controller divides the time among them by ``share`` and skips what
cannot finish; FLAML's tuner gets what is left.

The order and the entries come from this project's measurements (benchmarks/portfolio.py:
each entry bagged alone, at most 15 s, on the 16 benchmark tables; see benchmarks/README.md,
"Portfolio"): the cheap linear model and LightGBM first so a model exists within seconds,
then the entries by mean out-of-fold rank (CatBoost's defaults 3.1, XGBoost's zero-shot
configurations 4.0 and 4.6, LightGBM's 5.4-5.6), then those that mostly add diversity (extra
trees won 3 tables but predict 60x slower; a deeper CatBoost added nothing after the first);
the bagged HistGradientBoosting (mean rank 7.9, ~10 ms a row in a bag) last.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from flows.core.training.learners import MAX_ROUNDS, Config, fewer_rounds, rounds_of
from flows.core.types import Task

_FLAML_TASK = {Task.BINARY: "binary", Task.MULTICLASS: "multiclass",
               Task.REGRESSION: "regression"}
MAX_FOREST_TREES = 300
"""FLAML's zero-shot forests ask for up to 2,000 trees: past a few hundred a forest gains
little, and each tree costs every prediction (times the folds of a bag)."""


@dataclass(frozen=True)
class Entry:
    """A portfolio entry: fixed parameters, or FLAML's zero-shot configuration of this rank."""

    name: str
    learner: str
    params: dict[str, Any] | None = None
    zero_shot: int | None = None
    """1 for FLAML's first suggestion for the table, 2 for its second, ..."""
    share: float = 1.0


PORTFOLIO: tuple[Entry, ...] = (
    Entry("linear", "linear", {}, share=0.1),
    Entry("lgbm", "lgbm", zero_shot=1, share=1.0),
    Entry("catboost", "catboost", {"iterations": 1000}, share=3.0),
    Entry("xgboost", "xgboost", zero_shot=2, share=1.5),
    Entry("xgboost_2", "xgboost", zero_shot=1, share=1.5),
    Entry("lgbm_2", "lgbm", zero_shot=2, share=1.0),
    Entry("extra_tree", "extra_tree", zero_shot=1, share=0.7),
    Entry("catboost_deep", "catboost", {"iterations": 1000, "depth": 8, "l2_leaf_reg": 5},
          share=1.5),
    Entry("rf", "rf", zero_shot=1, share=0.7),
    Entry("lgbm_3", "lgbm", zero_shot=3, share=0.7),
    Entry("hgb", "hgb", {}, share=0.4),
)
"""Run order. ``linear`` is LogisticRegression (C=1) or Ridge (alpha=1) on the prepared
(scaled, one-hot) matrix; ``hgb`` scikit-learn's HistGradientBoosting defaults (the boosted
baseline, bagged); CatBoost's learning rate is left to CatBoost, which sets it from the rows
and the iterations it is given."""


@dataclass(frozen=True)
class Constraints:
    """What a policy asks of every tree: at most ``max_leaves`` leaves, and monotone
    constraints (one of -1, 0, 1 per encoded feature) for LightGBM and XGBoost."""

    max_leaves: int | None = None
    monotone: tuple[int, ...] | None = None


def build_portfolio(task: Task, x: np.ndarray, y: np.ndarray,
                    learners: Sequence[str] | None = None,
                    constraints: Constraints | None = None,
                    first: Sequence[Config] = ()) -> tuple[Config, ...]:
    """The configurations to fit, in order: ``first`` (a champion's, on retraining), then
    the portfolio's entries for the allowed ``learners`` (None: all), held to
    ``constraints``."""
    configs = list(first)
    for entry in PORTFOLIO:
        if learners is not None and entry.learner not in learners:
            continue
        native, flaml_params = (entry.params, None) if entry.zero_shot is None \
            else _zero_shot(entry, task, x, y)
        if native is None:
            continue
        config = Config(entry.name, entry.learner, _task_params(entry.learner, task, native),
                        _origin(entry), entry.share, flaml_params)
        configs.append(fewer_rounds(config, MAX_ROUNDS) if rounds_of(config) > MAX_ROUNDS
                       else config)
    held = [constrain(c, constraints) for c in configs] if constraints else configs
    return tuple(_unique(held))


def constrain(config: Config, constraints: Constraints) -> Config:
    """``config`` held to a policy's tree limits (learners without trees are unchanged)."""
    params = dict(config.params)
    if constraints.max_leaves is not None:
        limit = constraints.max_leaves
        if config.learner == "lgbm":
            params["num_leaves"] = min(int(params.get("num_leaves", 31)), limit)
        elif config.learner == "xgboost":
            params |= {"max_leaves": min(int(params.get("max_leaves") or limit), limit),
                       "grow_policy": "lossguide", "max_depth": 0}
        elif config.learner in ("rf", "extra_tree"):
            params["max_leaf_nodes"] = min(int(params.get("max_leaf_nodes") or limit), limit)
    if constraints.monotone is not None:
        if config.learner == "lgbm":
            params["monotone_constraints"] = list(constraints.monotone)
        elif config.learner == "xgboost":
            params["monotone_constraints"] = "(" + ",".join(
                str(v) for v in constraints.monotone) + ")"
    return replace(config, params=params)


def _zero_shot(entry: Entry, task: Task, x: np.ndarray,
               y: np.ndarray) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """FLAML's zero-shot configuration of rank ``entry.zero_shot`` for this table, in the
    library's own parameter names and in FLAML's; None when FLAML has fewer suggestions."""
    from flaml.default import suggest_config

    flaml_task = _FLAML_TASK[task]
    logging.getLogger("flaml.default").setLevel(logging.WARNING)
    rank = entry.zero_shot or 1
    suggestions = suggest_config(flaml_task, x, y, entry.learner, k=rank)
    if len(suggestions) < rank:
        return None, None
    flaml_params = dict(suggestions[rank - 1]["hyperparameters"])
    return native_params(entry.learner, task, flaml_params), flaml_params


def native_params(learner: str, task: Task, flaml_params: dict[str, Any]) -> dict[str, Any]:
    """A configuration in FLAML's names (a zero-shot or tuned one) in the library's names."""
    from flaml.automl.task.factory import task_factory

    flaml_task = _FLAML_TASK[task]
    estimator = task_factory(flaml_task).estimator_class_from_str(learner)
    native = estimator(task=flaml_task, **flaml_params).params
    return {k: v for k, v in native.items()
            if k not in ("verbose", "verbosity", "random_state", "n_jobs", "thread_count")}


def _task_params(learner: str, task: Task, params: dict[str, Any]) -> dict[str, Any]:
    """Per-task details of an entry's parameters."""
    params = dict(params)
    if learner == "linear":
        return ({"alpha": 1.0} if task is Task.REGRESSION else {"C": 1.0, "max_iter": 1000}) \
            | params
    if learner in ("rf", "extra_tree"):
        params["n_estimators"] = min(int(params.get("n_estimators", 100)), MAX_FOREST_TREES)
        if task is Task.REGRESSION:
            params.pop("criterion", None)  # a classifier's criterion; regressors' default
    return params


def _origin(entry: Entry) -> str:
    if entry.zero_shot is not None:
        return f"FLAML zero-shot #{entry.zero_shot} for this table"
    return "portfolio defaults" if entry.params else "library defaults"


def _unique(configs: list[Config]) -> list[Config]:
    """The first of configurations with the same learner and parameters (zero-shot ranks
    can repeat a champion's), and names made unique."""
    seen: set[tuple[str, str]] = set()
    names: set[str] = set()
    kept = []
    for config in configs:
        key = (config.learner, repr(sorted(config.params.items())))
        if key in seen:
            continue
        seen.add(key)
        name = config.name
        while name in names:
            name += "+"
        names.add(name)
        kept.append(replace(config, name=name))
    return kept
