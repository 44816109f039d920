from __future__ import annotations

import numpy as np
import pytest

from flows.core.preparation.imbalance import balancing_weights, class_balance


def test_severe_imbalance_gets_balanced_weights() -> None:
    y = np.array([0] * 95 + [1] * 5)
    balance = class_balance(y, ("ham", "spam"))
    assert balance.counts == {"ham": 95, "spam": 5}
    assert balance.minority_class == "spam" and balance.minority_share == pytest.approx(0.05)
    weights = balancing_weights(y, balance)
    assert weights is not None
    assert weights[y == 1].sum() == pytest.approx(weights[y == 0].sum())


def test_mild_imbalance_is_reported_but_not_weighted() -> None:
    y = np.array([0] * 80 + [1] * 20)
    balance = class_balance(y, (0, 1))
    assert not balance.imbalanced and balancing_weights(y, balance) is None
    assert balance.as_dict()["weighted"] is False
