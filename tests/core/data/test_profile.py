"""The profile's statistics against values computed by hand (numpy) on small frames."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from scipy.stats import skew

from flows.core.data.profile import HISTOGRAM_BINS, MISSING_MATRIX_ROWS, profile_snapshot

ROWS = 400


def frame() -> pl.DataFrame:
    rng = np.random.default_rng(3)
    amount = rng.normal(50, 10, ROWS)
    amount[::10] = np.nan
    amount[5] = 1000.0  # one far outlier
    return pl.DataFrame({
        "amount": amount,
        "count": rng.integers(0, 3, ROWS),
        "colour": rng.choice(["red", "green", "blue"], ROWS, p=[0.5, 0.3, 0.2]),
        "note": [f"a short note number {i} about nothing" for i in range(ROWS)],
        "flag": rng.random(ROWS) < 0.25,
        "day": [date(2024, 1, 1 + i % 28) for i in range(ROWS)],
        "label": np.where(rng.random(ROWS) < 0.3, "yes", "no"),
    }).with_columns(pl.col("amount").fill_nan(None))


def profiled(tmp_path: Path, data: pl.DataFrame, target: str | None = "label",
             duplicates: int = 0) -> dict[str, Any]:
    path = tmp_path / "data.parquet"
    data.write_parquet(path)
    return profile_snapshot(path, target, seed=0, duplicates_dropped=duplicates)


def test_numeric_statistics_match_numpy(tmp_path: Path) -> None:
    data = frame()
    column = profiled(tmp_path, data)["columns"]["amount"]
    values = data["amount"].drop_nulls().to_numpy()
    assert column["kind"] == "numeric"
    assert column["missing"] == ROWS // 10
    assert column["missing_share"] == pytest.approx(0.1)
    assert column["distinct"] == len(np.unique(values))
    assert column["min"] == pytest.approx(values.min())
    assert column["max"] == pytest.approx(1000.0)
    assert column["mean"] == pytest.approx(values.mean())
    assert column["std"] == pytest.approx(values.std(ddof=1))
    assert column["quantiles"]["p50"] == pytest.approx(np.median(values), rel=0.02)
    low, high = column["outlier_fences"]
    assert column["outliers"] == int(((values < low) | (values > high)).sum()) >= 1
    assert column["skewness"] == pytest.approx(skew(values, bias=False))
    assert column["skewness"] > 5  # the one far outlier


def test_nan_and_infinity_count_as_missing_and_a_constant_has_no_skew(tmp_path: Path) -> None:
    data = pl.DataFrame({"x": [1.0, float("nan"), float("inf"), 1.0, 1.0]})
    column = profiled(tmp_path, data, target=None)["columns"]["x"]
    assert (column["missing"], column["distinct"], column["skewness"]) == (2, 1, None)


def test_histogram_covers_every_present_value(tmp_path: Path) -> None:
    data = frame()
    column = profiled(tmp_path, data)["columns"]["amount"]
    values = data["amount"].drop_nulls().to_numpy()
    histogram = column["histogram"]
    assert len(histogram["edges"]) == HISTOGRAM_BINS + 1
    assert histogram["edges"][0] == pytest.approx(values.min())
    assert histogram["edges"][-1] == pytest.approx(values.max())
    expected, _ = np.histogram(values, bins=np.array(histogram["edges"]))
    assert sum(histogram["counts"]) == len(values)
    assert histogram["counts"][-1] == 1  # 1000.0, alone in the top bin
    assert np.abs(np.array(histogram["counts"]) - expected).sum() <= 2  # bin-edge ties


def test_categories_count_exactly_and_text_is_measured(tmp_path: Path) -> None:
    data = frame()
    found = profiled(tmp_path, data)["columns"]
    counts = data["colour"].value_counts()
    expected = {r["colour"]: r["count"] for r in counts.iter_rows(named=True)}
    assert found["colour"]["kind"] == "categorical"
    assert {t["value"]: t["count"] for t in found["colour"]["top"]} == expected
    assert [t["count"] for t in found["colour"]["top"]] == sorted(expected.values(),
                                                                  reverse=True)
    note = found["note"]
    lengths = data["note"].str.len_chars().to_numpy()
    assert note["kind"] == "free_text"
    assert (note["length_min"], note["length_max"]) == (lengths.min(), lengths.max())
    assert note["length_mean"] == pytest.approx(lengths.mean())


def test_booleans_dates_and_zeros(tmp_path: Path) -> None:
    data = frame()
    found = profiled(tmp_path, data)["columns"]
    assert found["flag"]["kind"] == "boolean"
    assert found["flag"]["mean"] == pytest.approx(data["flag"].mean())
    assert found["day"]["kind"] == "datetime"
    assert found["day"]["min"].startswith("2024-01-01")
    assert found["day"]["max"].startswith("2024-01-28")
    assert sum(found["day"]["histogram"]["counts"]) == ROWS
    zeros = int((data["count"] == 0).sum())
    assert found["count"]["zeros"] == zeros
    assert found["count"]["zeros_share"] == pytest.approx(zeros / ROWS)


def test_dataset_level_facts_and_class_balance(tmp_path: Path) -> None:
    data = frame()
    found = profiled(tmp_path, data, duplicates=7)
    dataset = found["dataset"]
    assert (dataset["rows"], dataset["columns"]) == (ROWS, 7)
    assert dataset["duplicates_dropped"] == 7
    assert dataset["missing_cells"] == ROWS // 10
    assert dataset["task"] == "binary"
    shares = {c["value"]: c["share"] for c in dataset["class_balance"]}
    assert shares["yes"] == pytest.approx(float((data["label"] == "yes").mean()))
    assert sum(shares.values()) == pytest.approx(1.0)
    assert len(found["missing_matrix"]["amount"]) == min(MISSING_MATRIX_ROWS, ROWS)
    ranked = [r["column"] for r in found["target_association"]]
    assert set(ranked) == {"amount", "count", "colour", "flag", "day"}  # free text left out


def test_a_regression_target_gets_no_class_balance(tmp_path: Path) -> None:
    found = profiled(tmp_path, frame(), target="amount")
    assert found["dataset"]["task"] == "regression"
    assert "class_balance" not in found["dataset"]


def test_a_frame_without_target_is_profiled_without_target_facts(tmp_path: Path) -> None:
    found = profiled(tmp_path, frame(), target=None)
    assert "target" not in found["dataset"]
    assert found["target_association"] == []


def test_class_balance_names_classes_as_the_source_wrote_them(tmp_path: Path) -> None:
    data = frame().with_columns(flag_target=pl.col("flag"))
    path = tmp_path / "data.parquet"
    data.write_parquet(path)
    found = profile_snapshot(path, "flag_target", spellings={"true": "Yes", "false": "No"})
    assert {c["value"] for c in found["dataset"]["class_balance"]} == {"Yes", "No"}
