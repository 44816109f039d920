from __future__ import annotations

import math

import numpy as np
import pytest

from flows.core.evaluation.metrics import classification_metrics, regression_metrics
from flows.core.types import Task


def test_binary_metrics_match_hand_computed_values() -> None:
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.8, 0.2]])
    m = classification_metrics(y, proba, Task.BINARY)
    # predictions 0,1,1,0: one TP, one FP, one FN, one TN
    assert m["accuracy"] == 0.5
    assert m["precision"] == 0.5 and m["recall"] == 0.5 and m["f1"] == 0.5
    assert m["roc_auc"] == pytest.approx(0.75)  # 3 of 4 positive-negative pairs ordered
    expected_log_loss = -np.mean(np.log([0.9, 0.4, 0.7, 0.2]))
    assert m["log_loss"] == pytest.approx(expected_log_loss)


def test_multiclass_metrics_and_missing_class_auc_left_out() -> None:
    y = np.array([0, 1, 1])
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1]])
    m = classification_metrics(y, proba, Task.MULTICLASS)
    assert m["accuracy"] == 1.0
    assert "roc_auc_ovr" not in m  # class 2 never occurs: AUROC is undefined
    assert set(m) == {"accuracy", "log_loss", "f1_macro"}


def test_regression_metrics() -> None:
    m = regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]))
    assert m["mae"] == pytest.approx(2 / 3)
    assert m["rmse"] == pytest.approx(math.sqrt(4 / 3))
    assert m["r2"] == pytest.approx(1 - 4 / 2)
