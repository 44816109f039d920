"""Cutting a run's split into slices, and judging a slice model against the global one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flows.core.data.slices import champion_of, plan_slices, slice_name, slice_split
from flows.core.errors import SchemaError
from flows.core.preparation.split import Split
from flows.core.types import Task


def split(rows: int = 600) -> Split:
    """Region A: 400 rows with both classes; B: 150 rows; C: 50 rows of class 0 only."""
    region = np.array(["A"] * 400 + ["B"] * 150 + ["C"] * 50)
    y = np.where(np.arange(rows) % 3 == 0, 1, 0)
    y[region == "C"] = 0
    frame = pd.DataFrame({"region": region, "x": np.arange(rows, dtype=float)})
    train, test = np.arange(rows) % 5 != 0, np.arange(rows) % 5 == 0
    return Split(task=Task.BINARY, target="y", x_train=frame[train].reset_index(drop=True),
                 x_test=frame[test].reset_index(drop=True), y_train=y[train], y_test=y[test],
                 classes=("no", "yes"), dropped_missing_target=0)


def test_slices_with_enough_rows_get_a_model_and_the_rest_say_why() -> None:
    plan = plan_slices(split(), ["region"], min_rows=100)
    assert [s.name for s in plan.trained] == ["region=A", "region=B"]
    assert plan.trained[0].rows == 400 and len(plan.trained[0].test_rows) == 80
    assert plan.small == {"region=C": "50 rows, fewer than 100"}
    one_class = plan_slices(split(), ["region"], min_rows=10)
    assert one_class.small == {"region=C": "fewer than two classes in its rows"}


def test_a_slice_split_holds_only_its_rows() -> None:
    whole = split()
    spec = plan_slices(whole, ["region"], min_rows=100).trained[1]
    part = slice_split(whole, spec)
    assert set(part.x_train["region"]) == set(part.x_test["region"]) == {"B"}
    assert len(part.x_train) == 120 and len(part.x_test) == 30
    assert part.classes == ("no", "yes") and part.task is Task.BINARY


def test_slice_names_are_canonical_for_records_and_rows() -> None:
    record = {"segment": "SMB", "region": "EU", "extra": 1}
    assert slice_name(record, ["region", "segment"]) == "region=EU|segment=SMB"
    assert slice_name({"region": None}, ["region"]) == "region=missing"
    assert slice_name({"region": 3.0}, ["region"]) == "region=3"


def test_an_unknown_slice_column_is_a_clear_error() -> None:
    with pytest.raises(SchemaError, match=r"slice column.*nope"):
        plan_slices(split(), ["nope"])


@pytest.mark.parametrize(("own", "shared", "metric", "winner"), [
    (0.90, 0.85, "roc_auc", "slice"), (0.80, 0.85, "roc_auc", "global"),
    (0.85, 0.85, "roc_auc", "global"), (0.20, 0.30, "log_loss", "slice"),
    (float("nan"), 0.30, "rmse", "global"),
])
def test_the_champion_is_whichever_scores_better(own: float, shared: float, metric: str,
                                                 winner: str) -> None:
    assert champion_of({"slice": {metric: own}, "global": {metric: shared}}, metric) == winner
