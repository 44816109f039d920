from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flows.core.data.leakage import find_leaks, find_linear_identity
from flows.core.errors import SchemaError
from flows.core.preparation.prepare import plan_preparation
from flows.core.types import Task


def mixed_frame(rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "passenger_id": np.arange(1, rows + 1),
        "age": np.linspace(1, 80, rows),
        "constant": ["x"] * rows,
        "empty": [None] * rows,
        "sex": ["m", "f"] * (rows // 2),
        "ticket": [f"T{i % 40}" for i in range(rows)],
        "zone": [f"zone {i % 150}" for i in range(rows)],
        "code": [f"C{i:05d}" for i in range(rows)],
        "review": [" ".join(rng.choice(["good", "bad", "fine", "slow"], 5)) for _ in range(rows)],
        "seen": pd.date_range("2024-01-01", periods=rows, freq="D"),
    })


def test_columns_are_sorted_into_encodings_and_exclusions() -> None:
    plan = plan_preparation(mixed_frame())
    assert plan.numeric == ("age",)
    assert plan.low_cardinality == ("sex",)
    assert plan.high_cardinality == ("ticket",)
    assert plan.very_high_cardinality == ("zone",)
    assert plan.texts == ("review",)
    assert plan.datetimes == ("seen",)
    reasons = {e.column: e.reason for e in plan.exclusions}
    assert set(reasons) == {"passenger_id", "constant", "empty", "code"}
    assert reasons["constant"].startswith("constant")
    assert reasons["passenger_id"].startswith("identifier")
    assert reasons["code"].startswith("identifier")
    assert plan.input_schema["seen"] == "datetime" and plan.input_schema["age"] == "number"


def test_preprocessing_fits_with_the_target_and_accepts_unseen_values() -> None:
    frame = mixed_frame()
    y = (frame["age"] > 40).astype(int).to_numpy()
    plan = plan_preparation(frame, Task.BINARY)
    transformer = plan.build().fit(frame[list(plan.feature_columns)], y)
    unseen = pd.DataFrame({"age": [None], "sex": ["unknown"], "ticket": ["T999"],
                           "zone": ["nowhere"], "review": [None], "seen": [None]})
    out = transformer.transform(unseen)
    assert out.shape[0] == 1 and np.isfinite(out).all()
    names = list(transformer.get_feature_names_out())
    assert "datetime__seen_month" in names and any(n.startswith("text_review__") for n in names)


def test_no_usable_feature_is_a_clear_error() -> None:
    with pytest.raises(SchemaError, match="no usable feature column"):
        plan_preparation(pd.DataFrame({"c": [1] * 30}))


def test_a_column_that_gives_the_target_away_is_found() -> None:
    rng = np.random.default_rng(1)
    rows = 600
    y = rng.integers(0, 2, rows)
    features = pd.DataFrame({"honest": rng.normal(size=rows) + y * 0.5,
                             "outcome_code": np.where(y == 1, "closed-won", "closed-lost")})
    leaks = find_leaks(features, y, Task.BINARY, ("honest", "outcome_code"), seed=0)
    assert [e.column for e in leaks] == ["outcome_code"]
    assert "AUROC 1.000" in leaks[0].reason


def test_a_total_that_contains_the_target_is_found() -> None:
    rng = np.random.default_rng(2)
    rows = 500
    fare = rng.gamma(2, 10, rows)
    tip = rng.gamma(1, 2, rows)
    features = pd.DataFrame({"distance": fare / 3 + rng.normal(0, 2, rows), "tip": tip,
                             "total": fare + tip + rng.choice([0.5, 3.0], rows)})
    leaks = find_linear_identity(features, fare, ("distance", "tip", "total"), seed=0)
    assert [e.column for e in leaks] == ["total"]


def test_honest_features_are_not_called_leaks() -> None:
    rng = np.random.default_rng(3)
    rows = 500
    x = rng.normal(size=(rows, 3))
    y = x @ np.array([1.0, 0.5, 0.2]) + rng.normal(0, 1.0, rows)
    features = pd.DataFrame(x, columns=["a", "b", "c"])
    assert find_leaks(features, y, Task.REGRESSION, ("a", "b", "c"), seed=0) == []
    assert find_linear_identity(features, y, ("a", "b", "c"), seed=0) == []


def test_infinite_feature_values_are_imputed() -> None:
    train = pd.DataFrame({"x": [1.0, np.inf, 3.0, -np.inf, 5.0] * 4})
    plan = plan_preparation(train, Task.REGRESSION)
    out = plan.build().fit_transform(train, np.arange(20.0))
    assert np.isfinite(out).all()
