"""Drift measures on samples where the answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flows.core.monitoring.drift import Thresholds, feature_drift, psi

SCHEMA = {"amount": "number", "colour": "text"}


def sample(rows: int, seed: int, shift: float = 0.0, colours: tuple[float, ...] = (
        0.5, 0.3, 0.2)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.normal(50 + shift, 10, rows)
    amount[::20] = np.nan
    return pd.DataFrame({"amount": amount,
                         "colour": rng.choice(["red", "green", "blue"], rows, p=colours)})


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift() -> None:
    shares = np.array([0.5, 0.3, 0.2])
    assert psi(shares, shares) == pytest.approx(0.0)
    assert psi(shares, np.array([0.45, 0.35, 0.2])) < psi(shares, np.array([0.2, 0.3, 0.5]))


def test_the_same_distribution_does_not_drift() -> None:
    found = feature_drift(sample(5000, 0), sample(800, 1), SCHEMA, Thresholds())
    assert [d.feature for d in found] == ["amount", "colour"]
    assert not any(d.drifted for d in found)
    assert all(d.psi < 0.05 for d in found)


def test_a_shifted_number_and_a_reweighted_category_drift() -> None:
    found = {d.feature: d for d in feature_drift(
        sample(5000, 0), sample(800, 1, shift=15, colours=(0.1, 0.3, 0.6)), SCHEMA,
        Thresholds())}
    assert found["amount"].drifted and found["amount"].psi > 0.2
    assert found["amount"].test == "ks" and found["amount"].p_value < 0.01
    assert found["colour"].drifted and found["colour"].test == "chi2"


def test_too_few_live_rows_are_not_judged() -> None:
    assert feature_drift(sample(5000, 0), sample(50, 1, shift=30), SCHEMA,
                         Thresholds(min_rows=100)) == []


def test_a_rise_in_missing_values_shows_in_psi() -> None:
    live = sample(800, 1)
    live.loc[: 400, "amount"] = np.nan
    amount = next(d for d in feature_drift(sample(5000, 0), live, SCHEMA, Thresholds())
                  if d.feature == "amount")
    assert amount.drifted and amount.psi > 0.2
