"""Folds: every row predicted at most once, never by a model that saw it; rare classes cope."""

from __future__ import annotations

import numpy as np
import pytest

from flows.core.training.folds import fold_count, plan_folds
from flows.core.types import Task


def test_folds_are_deterministic_for_a_seed_and_differ_across_seeds() -> None:
    y = np.random.default_rng(0).integers(0, 3, 500)
    first, again = plan_folds(y, Task.MULTICLASS, seed=4), plan_folds(y, Task.MULTICLASS, 4)
    other = plan_folds(y, Task.MULTICLASS, seed=5)
    for (a_fit, a_pred), (b_fit, b_pred) in zip(first.pairs, again.pairs, strict=True):
        np.testing.assert_array_equal(a_fit, b_fit)
        np.testing.assert_array_equal(a_pred, b_pred)
    assert any(not np.array_equal(a[1], b[1])
               for a, b in zip(first.pairs, other.pairs, strict=True))


@pytest.mark.parametrize("task", [Task.BINARY, Task.REGRESSION])
def test_every_row_is_predicted_once_by_a_fold_that_never_saw_it(task: Task) -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 803) if task.is_classification else rng.normal(size=803)
    folds = plan_folds(y, task, seed=0)
    assert folds.k == 8
    predicted = np.concatenate([predict for _, predict in folds.pairs])
    assert sorted(predicted.tolist()) == list(range(803))  # each row exactly once
    for fit, predict in folds.pairs:
        assert not set(fit.tolist()) & set(predict.tolist())
        assert len(fit) + len(predict) == 803


def test_a_class_with_fewer_rows_than_folds_stays_in_every_folds_training_part() -> None:
    y = np.array([0] * 60 + [1] * 40 + [2] * 3 + [3])  # class 2: 3 rows, class 3: one
    folds = plan_folds(y, Task.MULTICLASS, seed=0, k=8)
    for fit, _ in folds.pairs:
        assert set(np.unique(y[fit])) == {0, 1, 2, 3}  # no fold model misses a class
    assert 103 not in folds.scored  # the single row of class 3 is never predicted
    assert folds.unscored == 1 and "1 row(s)" in folds.describe()
    assert sum(int((y[predict] == 2).sum()) for _, predict in folds.pairs) == 3


def test_large_tables_get_fewer_folds_then_a_holdout_keeping_every_class() -> None:
    assert fold_count(1_000) == 8 and fold_count(15_000) == 5 and fold_count(60_000) == 3
    assert fold_count(150_000) == 1
    y = np.array([0] * 900 + [1] * 98 + [2] * 2)
    folds = plan_folds(y, Task.MULTICLASS, seed=0, k=1)
    fit, predict = folds.pairs[0]
    assert folds.holdout and abs(len(predict) - 200) <= 2
    assert set(np.unique(y[fit])) == {0, 1, 2} and "holdout" in folds.describe()
