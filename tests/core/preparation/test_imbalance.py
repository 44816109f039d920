from __future__ import annotations

import numpy as np
import pytest

from flows.core.preparation.imbalance import balancing_weights, class_balance


def test_severe_imbalance_gets_balanced_weights_for_a_decision_metric() -> None:
    y = np.array([0] * 95 + [1] * 5)
    balance = class_balance(y, ("ham", "spam"), "f1")
    assert balance.counts == {"ham": 95, "spam": 5}
    assert balance.minority_class == "spam" and balance.minority_share == pytest.approx(0.05)
    weights = balancing_weights(y, balance)
    assert weights is not None
    assert weights[y == 1].sum() == pytest.approx(weights[y == 0].sum())
    assert balance.as_dict()["weighted"] is True


@pytest.mark.parametrize("metric", ["log_loss", "roc_auc", "ap"])
def test_severe_imbalance_trains_unweighted_for_a_probability_metric(metric: str) -> None:
    y = np.array([0] * 95 + [1] * 5)
    balance = class_balance(y, ("ham", "spam"), metric)
    assert balance.imbalanced and not balance.weighted
    assert balancing_weights(y, balance) is None


def test_mild_imbalance_is_reported_but_not_weighted() -> None:
    y = np.array([0] * 80 + [1] * 20)
    balance = class_balance(y, (0, 1), "f1")
    assert not balance.imbalanced and balancing_weights(y, balance) is None
    assert balance.as_dict()["weighted"] is False
