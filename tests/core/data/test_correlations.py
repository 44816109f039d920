"""Association measures against their definitions on frames where the answer is known."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from flows.core.data.correlations import (
    MAX_LEVELS,
    associations,
    category_codes,
    correlation_ratio,
    cramers_v,
    target_association,
)

KINDS = {"x": "numeric", "y": "numeric", "colour": "categorical", "shade": "categorical",
         "label": "categorical", "note": "free_text"}


def frame(rows: int = 500) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=rows)
    colour = rng.choice(["red", "green", "blue"], rows)
    return pl.DataFrame({
        "x": x, "y": 2 * x + rng.normal(scale=0.5, size=rows), "colour": colour,
        "shade": colour,  # a category determined by another
        "label": np.where(x > 0, "yes", "no"),
        "note": ["free text here"] * rows,
    })


def test_cramers_v_is_one_for_a_copy_and_zero_for_independence() -> None:
    codes = np.repeat([0, 1, 2], 100)
    assert cramers_v(codes, codes) == pytest.approx(1.0)
    crossed = np.tile([0, 1], 150)  # every level of one meets each level of the other equally
    assert cramers_v(codes, crossed) == pytest.approx(0.0, abs=1e-12)
    assert cramers_v(codes, np.zeros(300, dtype=np.int64)) is None


def test_correlation_ratio_is_one_when_the_category_fixes_the_number() -> None:
    codes = np.repeat([0, 1, 2], 50)
    assert correlation_ratio(codes, codes * 10.0) == pytest.approx(1.0)
    same_means = np.tile([1.0, 2.0, 3.0, 4.0], 3 * 50 // 4 + 1)[:150]
    equal = np.concatenate([np.sort(same_means[:50])] * 3)
    assert correlation_ratio(codes, equal) == pytest.approx(0.0, abs=1e-12)


def test_the_matrices_match_numpy_and_are_symmetric() -> None:
    data = frame()
    found = associations(data, KINDS, target="label")
    assert found["columns"][0] == "label" and "note" not in found["columns"]
    i, j = found["columns"].index("x"), found["columns"].index("y")
    expected = np.corrcoef(data["x"].to_numpy(), data["y"].to_numpy())[0, 1]
    assert found["pearson"][i][j] == pytest.approx(expected, abs=1e-4)
    assert found["spearman"][i][j] == pytest.approx(
        np.corrcoef(data["x"].rank().to_numpy(), data["y"].rank().to_numpy())[0, 1], abs=1e-4)
    combined = np.array(found["combined"], dtype=float)
    np.testing.assert_allclose(combined, combined.T)
    c, s = found["columns"].index("colour"), found["columns"].index("shade")
    assert found["combined"][c][s] == pytest.approx(1.0)
    assert found["pearson"][c][s] is None  # not a numeric pair


def test_mutual_information_ranks_the_signal_first() -> None:
    ranked = target_association(frame(), KINDS, "label", "binary", seed=0)
    assert ranked[0]["column"] in ("x", "y")
    assert {r["column"] for r in ranked} == {"x", "y", "colour", "shade"}
    scores = [r["mutual_information"] for r in ranked]
    assert scores == sorted(scores, reverse=True)


def test_category_codes_keep_the_frequent_levels_and_group_the_rest() -> None:
    values = pl.Series("v", [f"l{i}" for i in range(MAX_LEVELS + 5)] * 2 + ["l0"] * 5 + [None])
    codes = category_codes(values)
    assert codes[-1] == MAX_LEVELS + 1  # missing
    assert codes.max() == MAX_LEVELS + 1 and (codes == MAX_LEVELS).sum() == 5 * 2  # 'other'
    assert codes[0] == 0  # l0, the most frequent
