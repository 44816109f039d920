"""How a policy shapes training: which columns never reach the model, which learners the
portfolio and the tuner may use and with what limits."""

from __future__ import annotations

import pandas as pd
from sklearn.compose import ColumnTransformer

from flows.core.data.pii import find_personal_identifiers
from flows.core.policy.rules import Policy, PolicyError
from flows.core.training.portfolio import Constraints
from flows.core.types import Exclusion, Task

POLICY_NAMES = {"lgbm": ("lgbm",), "xgboost": ("xgboost",), "catboost": ("catboost",),
                "rf": ("rf",), "extra_tree": ("extra_tree",),
                "linear": ("lrl1", "lrl2", "enet", "linear")}
"""The portfolio's learners by the names a policy may call them (FLAML's names; any linear
name allows the linear model). scikit-learn's histogram boosting has no name here: a policy
that names learners never gets it, one that names none may."""
LEAF_LIMITED = ("lgbm", "xgboost", "rf", "extra_tree", "linear")
"""Learners a leaf limit can hold (linear models have no leaves)."""
MONOTONE_CAPABLE = ("lgbm", "xgboost")


def excluded_columns(policy: Policy, features: pd.DataFrame) -> list[Exclusion]:
    """The policy's columns to drop, and (when asked) every personal identifier found."""
    found = [Exclusion(c, "dropped by the slice's policy") for c in policy.drop_columns
             if c in features.columns]
    if policy.detect_pii:
        named = {e.column for e in found}
        found += [e for e in find_personal_identifiers(features) if e.column not in named]
    return found


def allowed_learners(policy: Policy, task: Task) -> tuple[str, ...]:
    """The portfolio's learners the policy allows and can hold to its limits."""
    if policy.learners is None:
        allowed = [*POLICY_NAMES, "hgb"]
    else:
        allowed = [learner for learner, names in POLICY_NAMES.items()
                   if set(names) & set(policy.learners)]
    if policy.max_leaves is not None:
        allowed = [learner for learner in allowed if learner in LEAF_LIMITED]
    if policy.monotone:
        allowed = [learner for learner in allowed if learner in MONOTONE_CAPABLE]
    if not allowed:
        raise PolicyError(f"policy {policy.name!r} leaves no learner for a {task.value} task",
                          "allow lgbm or xgboost (monotone features), or a linear learner")
    return tuple(allowed)


def search_constraints(policy: Policy, preprocessor: ColumnTransformer) -> Constraints:
    """The policy's limits on every tree: leaf count, monotone encoded features."""
    monotone = None
    if policy.monotone:
        names = [str(n) for n in preprocessor.get_feature_names_out()]
        missing = [f for f in policy.monotone if f"numeric__{f}" not in names]
        if missing:
            raise PolicyError(f"policy {policy.name!r}: monotone feature(s) "
                              f"{', '.join(missing)} are not numeric model inputs here",
                              "name numeric columns the slice keeps")
        monotone = tuple(policy.monotone.get(n.removeprefix("numeric__"), 0)
                         if n.startswith("numeric__") else 0 for n in names)
    return Constraints(policy.max_leaves, monotone)
