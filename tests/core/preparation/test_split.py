from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from flows.core.errors import SchemaError
from flows.core.preparation.split import detect_task, split_frame
from flows.core.types import Task


@pytest.mark.parametrize(("values", "task"), [
    ([0, 1, 1, 0], Task.BINARY),
    (["a", "b", "c", "a"], Task.MULTICLASS),
    ([1.5, 2.25, 3.0, 4.75], Task.REGRESSION),
    (list(range(50)), Task.REGRESSION),
    ([1.0, 2.0, 1.0, 3.0], Task.MULTICLASS),
])
def test_detect_task(values: list[object], task: Task) -> None:
    assert detect_task(pl.Series("y", values)) is task


def test_one_class_target_is_rejected() -> None:
    with pytest.raises(SchemaError, match="1 distinct value"):
        detect_task(pl.Series("y", ["a", "a", None]))


def frame(rows: int = 200) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    return pl.DataFrame({"x": rng.normal(size=rows),
                         "y": np.where(np.arange(rows) % 5 == 0, "rare", "common")})


def test_split_is_stratified_seeded_and_disjoint() -> None:
    data = frame().with_row_index("row")
    first = split_frame(data, "y", 0.2, seed=3)
    again = split_frame(data, "y", 0.2, seed=3)
    other = split_frame(data, "y", 0.2, seed=4)
    assert len(first.x_test) == 40 and len(first.x_train) == 160
    assert first.classes == ("common", "rare")
    assert (first.y_test == 1).sum() == 8  # 20% rare in the test part, as in the whole
    assert first.x_test["row"].tolist() == again.x_test["row"].tolist()
    assert first.x_test["row"].tolist() != other.x_test["row"].tolist()
    assert not set(first.x_test["row"]) & set(first.x_train["row"])


def test_rows_without_target_are_dropped_and_counted() -> None:
    data = frame().with_columns(
        pl.when(pl.int_range(pl.len()) < 10).then(None).otherwise(pl.col("y")).alias("y"))
    split = split_frame(data, "y", 0.2, seed=0)
    assert split.dropped_missing_target == 10
    assert len(split.x_train) + len(split.x_test) == 190


def test_all_missing_target_is_rejected() -> None:
    data = pl.DataFrame({"x": [1, 2, 3], "y": [None, None, None]}, schema_overrides={
        "y": pl.String})
    with pytest.raises(SchemaError, match="missing in every row"):
        split_frame(data, "y", 0.2, seed=0)


def test_training_rows_are_capped_by_a_stratified_sample() -> None:
    from flows.core.preparation.split import cap_training_rows

    split = split_frame(frame(1000).with_row_index("row"), "y", 0.2, seed=0)
    capped = cap_training_rows(split, 200, seed=0)
    assert len(capped.x_train) == 200 and capped.train_rows_before_cap == 800
    assert (capped.y_train == 1).sum() == 40  # the rare class keeps its 20% share
    assert len(capped.x_test) == 200  # the test part stays whole
    assert cap_training_rows(split, 5000, seed=0) is split


def test_single_row_classes_and_non_finite_targets_are_dropped() -> None:
    data = pl.DataFrame({"x": list(range(60)),
                         "y": ["a", "b"] * 29 + ["a", "lonely"]})
    split = split_frame(data, "y", 0.2, seed=0)
    assert split.dropped_single_row_classes == ("lonely",)
    assert split.classes == ("a", "b") and len(split.x_train) + len(split.x_test) == 59
    numbers = pl.DataFrame({"x": list(range(40)),
                            "y": [float(i) + 0.5 for i in range(38)] + [float("inf"), None]})
    regression = split_frame(numbers, "y", 0.2, seed=0)
    assert regression.dropped_missing_target == 2
    assert np.isfinite(regression.y_train).all() and np.isfinite(regression.y_test).all()
