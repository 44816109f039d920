from __future__ import annotations

import numpy as np
import pytest

from flows.core.errors import AutopipeError
from flows.core.training.losses import loss, score_from_loss, search_metric
from flows.core.types import Task


def test_metric_defaults_per_task_and_refuses_one_that_does_not_apply() -> None:
    assert search_metric(Task.BINARY, None) == "log_loss"
    assert search_metric(Task.REGRESSION, None) == "rmse"
    assert search_metric(Task.BINARY, "roc_auc") == "roc_auc"
    with pytest.raises(AutopipeError, match="does not apply to a regression") as error:
        search_metric(Task.REGRESSION, "roc_auc")
    assert "rmse, mae, r2" in (error.value.hint or "")


def test_losses_match_the_metrics_by_hand() -> None:
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert loss("accuracy", y, proba) == pytest.approx(0.5)  # 2 of 4 right
    assert loss("roc_auc", y, proba) == pytest.approx(1 - 0.75)  # 3 of 4 pairs ranked right
    assert loss("log_loss", y, proba) == pytest.approx(
        -np.mean(np.log([0.9, 0.8, 0.4, 0.3])))
    assert loss("rmse", np.array([1.0, 3.0]), np.array([2.0, 1.0])) == pytest.approx(
        np.sqrt(2.5))
    assert loss("roc_auc", np.array([1, 1]), proba[:2]) == np.inf  # undefined: one class
    assert score_from_loss("roc_auc", 0.25) == 0.75 and score_from_loss("rmse", 3.0) == 3.0
