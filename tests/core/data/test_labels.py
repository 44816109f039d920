"""Class labels come back as the source wrote them, and given labels find their class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from flows.core.data.ingest import ingest, read_snapshot
from flows.core.data.labels import as_written, class_index, encode_labels
from flows.core.data.sources import parse_source
from flows.core.preparation.prepared import as_model, prepare_training
from flows.core.registry.model import FittedModel


def trained(tmp_path: Path, negative: str, positive: str) -> tuple[FittedModel, Any]:
    """A model of a 40-row CSV whose target is written ``negative``/``positive`` (x > 0)."""
    rows = "".join(f"{x + 0.5},{positive if x >= 0 else negative}\n" for x in range(-20, 20))
    (tmp_path / "t.csv").write_text("x,y\n" + rows)
    dataset = ingest(parse_source(str(tmp_path / "t.csv")), tmp_path / "d").dataset
    prepared = prepare_training(read_snapshot(dataset, "y"), "y", 0.25, seed=0)
    estimator = LogisticRegression().fit(prepared.x_train, prepared.split.y_train)
    return as_model(prepared, estimator, "lr", "v1"), prepared.split


@pytest.mark.parametrize(("negative", "positive"), [
    ("No", "Yes"), ("no", "yes"), ("1", "2"), (" <=50K", " >50K"), ("FALSE", "TRUE"),
    ("false", "true"), ("n", "Y")])
def test_classes_predictions_and_probability_columns_are_the_written_labels(
        tmp_path: Path, negative: str, positive: str) -> None:
    model, split = trained(tmp_path, negative, positive)
    expected = (1, 2) if negative == "1" else (negative, positive)  # numbers stay numbers
    assert split.classes == model.classes == expected
    assert model.class_names == [negative, positive]
    out = model.predict_frame(split.x_test)
    assert list(out.columns) == ["prediction", negative, positive]
    assert set(out["prediction"]) == set(expected)
    assert all(type(p) is type(expected[0]) for p in out["prediction"])
    ordered = split.x_test.assign(p=out["prediction"].to_numpy()).sort_values("x")["p"]
    assert (ordered.iloc[0], ordered.iloc[-1]) == expected  # the positive class stays last


def test_as_written_orders_written_labels_like_the_stored_values() -> None:
    frame = pl.DataFrame({"y": [True, None, False, True]})
    written = as_written(frame, "y", {"true": "yes", "false": "No"})
    assert written["y"].to_list() == ["yes", None, "No", "yes"]
    assert written["y"].dtype == pl.Enum(["No", "yes"])
    assert as_written(frame, "y", {}) is frame


@pytest.mark.parametrize(("label", "classes", "expected"), [
    ("Yes", ("No", "Yes"), 1),
    ("yes", ("No", "Yes"), 1),
    (True, ("No", "Yes"), 1),
    ("true", ("No", "Yes"), 1),
    ("n", ("No", "Yes"), 0),
    (">50K", (" <=50K", " >50K"), 1),
    (" >50K", (" <=50K", " >50K"), 1),
    ("2", (1, 2), 1),
    (2.0, (1, 2), 1),
    (True, (False, True), 1),
    ("yes", ("yes", "Yes", "maybe"), 0),  # the exact spelling first
    ("YES", ("yes", "Yes", "maybe"), None),  # two classes mean it: none is chosen
    ("maybe", ("No", "Yes"), None),
    (None, ("No", "Yes"), None),
])
def test_a_given_label_means_the_one_class_it_matches(label: Any, classes: tuple[Any, ...],
                                                      expected: int | None) -> None:
    assert class_index(label, classes) == expected


def test_encode_labels_leaves_out_labels_of_unknown_classes() -> None:
    known, positions = encode_labels(["Yes", "maybe", True, "no"], ("No", "Yes"))
    assert known.tolist() == [True, False, True, True]
    assert np.array_equal(positions, [1, 1, 0])


@pytest.mark.parametrize(("stored", "spellings"), [
    ([True, False], {"true": "Yes", "false": "No"}), (["a", "b"], {"a": " a", "b": " b"})])
def test_a_table_saved_with_its_written_labels_ingests_back_to_them(
        tmp_path: Path, stored: list[Any], spellings: dict[str, str]) -> None:
    """What retraining does: its training table goes to Parquet and through ingest again."""
    frame = as_written(pl.DataFrame({"x": range(20), "y": stored * 10}), "y", spellings)
    frame.write_parquet(tmp_path / "t.parquet")
    dataset = ingest(parse_source(str(tmp_path / "t.parquet")), tmp_path / "d").dataset
    again = read_snapshot(dataset, "y")["y"]
    assert again.dtype == frame["y"].dtype and again.to_list() == frame["y"].to_list()
