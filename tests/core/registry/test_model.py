from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from flows.core.data.cleaning import clean_value
from flows.core.errors import InputValidationError
from flows.core.preparation.prepare import plan_preparation
from flows.core.registry.model import (
    FittedModel,
    coerce_column,
    datetime_values,
    load_model,
)
from flows.core.types import Task


def small_model() -> FittedModel:
    from sklearn.pipeline import Pipeline

    features = pd.DataFrame({"age": [20.0, 30.0, 40.0, 50.0, 60.0, 70.0],
                             "sex": ["m", "f", "m", "f", "m", "f"]})
    y = np.array([0, 0, 0, 1, 1, 1])
    plan = plan_preparation(features)
    pipeline = Pipeline([("prepare", plan.build()), ("model", LogisticRegression())])
    pipeline.fit(features, y)
    return FittedModel("v1", Task.BINARY, "label", "lr", ("no", "yes"), plan.input_schema,
                       pipeline)


def test_predict_frame_names_probability_columns_by_class_label() -> None:
    model = small_model()
    out = model.predict_frame(model.frame_from_records(
        [{"age": 25, "sex": "m"}, {"age": 65, "sex": "f", "extra": 1}]))
    assert list(out.columns) == ["prediction", "no", "yes"]
    assert out["prediction"].tolist() == ["no", "yes"]
    assert np.allclose(out[["no", "yes"]].sum(axis=1), 1.0)


def test_missing_field_and_wrong_type_are_named() -> None:
    model = small_model()
    with pytest.raises(InputValidationError, match=r"missing required field.*sex"):
        model.frame_from_records([{"age": 3}])
    with pytest.raises(InputValidationError, match="'age' must be a number"):
        model.frame_from_records([{"age": "old", "sex": "m"}])
    with pytest.raises(InputValidationError, match="no records"):
        model.frame_from_records([])


def test_null_values_are_allowed() -> None:
    model = small_model()
    out = model.predict_frame(model.frame_from_records([{"age": None, "sex": None}]))
    assert len(out) == 1


def test_records_are_cleaned_as_ingest_cleaned_the_training_rows() -> None:
    """Padded text and missing-value tokens mean what they meant at ingest (adult's
    ' Private' was 'Private' to the model, '?' was missing)."""
    model = small_model()
    frame = model.frame_from_records([{"age": " 61 ", "sex": " f "},
                                      {"age": "?", "sex": "NA"}])
    assert frame["sex"].tolist() == ["f", None]
    assert frame["age"].iloc[0] == 61.0 and np.isnan(frame["age"].iloc[1])
    padded = model.predict_frame(model.frame_from_records([{"age": 65, "sex": " f"}]))
    clean = model.predict_frame(model.frame_from_records([{"age": 65, "sex": "f"}]))
    assert padded.equals(clean)


def test_saved_model_reloads_with_the_same_predictions(tmp_path: object) -> None:
    from pathlib import Path

    model = small_model()
    directory = Path(str(tmp_path)) / "v1"
    model.save(directory)
    frame = model.frame_from_records([{"age": 33, "sex": "f"}])
    pd.testing.assert_frame_equal(load_model(directory).predict_frame(frame),
                                  model.predict_frame(frame))


def test_a_model_saved_before_the_core_moved_into_packages_still_loads_and_predicts() -> None:
    import sys
    from pathlib import Path

    saved = Path(__file__).parents[2] / "data" / "tui_home" / "models" / "titanic-5fd46a048ee5"
    assert b"flows.core.model" in (saved / "model.joblib").read_bytes()  # the old name
    model = load_model(saved)
    record = dict.fromkeys(model.input_schema) | {"pclass": 1, "sex": "female", "age": 30}
    out = model.predict_frame(model.frame_from_records([record]))
    assert set(out["prediction"]) <= set(model.classes)
    assert "flows.core.model" not in sys.modules  # the alias lived for the unpickling only


def test_a_few_dates_are_read_in_plain_python_as_pandas_reads_them() -> None:
    values = ["2024-03-01", " 2024-03-01T12:30:00 ", pd.Timestamp("2023-01-02 03:04"), None,
              "NA"]
    cleaned = [clean_value(v) for v in values]
    expected = list(coerce_column(pd.Series(values, dtype=object), "day", "datetime"))
    assert datetime_values(cleaned, "day") == [*expected[:3], pd.NaT, pd.NaT]
    assert datetime_values(["03/01/2024 12:00"], "day") == [pd.Timestamp("2024-03-01 12:00")]
    with pytest.raises(InputValidationError, match="'day' must be a date"):
        datetime_values(["soon"], "day")
