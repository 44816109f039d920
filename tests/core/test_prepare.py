from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flows.core.errors import SchemaError
from flows.core.prepare import plan_preparation


def test_columns_are_sorted_into_encodings_and_exclusions() -> None:
    rows = 100
    features = pd.DataFrame({
        "passenger_id": np.arange(1, rows + 1),
        "age": np.linspace(1, 80, rows),
        "constant": ["x"] * rows,
        "empty": [None] * rows,
        "sex": ["m", "f"] * (rows // 2),
        "ticket": [f"T{i % 40}" for i in range(rows)],
        "name": [f"Person {i}" for i in range(rows)],
    })
    plan = plan_preparation(features)
    assert plan.numeric == ("age",)
    assert plan.low_cardinality == ("sex",)
    assert plan.high_cardinality == ("ticket",)
    reasons = {e.column: e.reason for e in plan.exclusions}
    assert set(reasons) == {"passenger_id", "constant", "empty", "name"}
    assert reasons["constant"].startswith("constant")
    assert reasons["passenger_id"].startswith("identifier")
    assert plan.input_schema == {"age": "number", "sex": "text", "ticket": "text"}


def test_preprocessing_handles_missing_and_unseen_values() -> None:
    train = pd.DataFrame({"age": [1.0, None, 3.0, 4.0], "sex": ["m", "f", None, "m"]})
    plan = plan_preparation(train)
    transformer = plan.build().fit(train)
    out = transformer.transform(pd.DataFrame({"age": [None], "sex": ["unknown"]}))
    assert out.shape[0] == 1 and np.isfinite(out).all()


def test_no_usable_feature_is_a_clear_error() -> None:
    with pytest.raises(SchemaError, match="no usable feature column"):
        plan_preparation(pd.DataFrame({"c": [1] * 30}))
