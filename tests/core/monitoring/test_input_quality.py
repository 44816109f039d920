"""Live-input anomalies against the training reference, on built frames."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flows.core.monitoring.input_quality import latency_percentiles, quality_issues

SCHEMA = {"amount": "number", "colour": "text", "name": "text"}


def reference(rows: int = 1000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"amount": rng.uniform(0, 100, rows),
                         "colour": rng.choice(["red", "green", "blue"], rows),
                         "name": [f"person {i}" for i in range(rows)]})


def live(rows: int = 300, **changes: object) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"amount": rng.uniform(0, 100, rows),
                          "colour": rng.choice(["red", "green", "blue"], rows),
                          "name": [f"new person {i}" for i in range(rows)]})
    return frame.assign(**changes)


def kinds(found: list) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    return {(issue.kind, issue.feature) for issue in found}


def test_clean_traffic_and_new_names_raise_nothing() -> None:
    assert quality_issues(reference(), live(), SCHEMA, min_rows=100) == []


def test_values_outside_the_training_range_are_flagged() -> None:
    amounts = np.r_[np.full(30, 250.0), np.random.default_rng(2).uniform(0, 100, 270)]
    found = quality_issues(reference(), live(amount=amounts), SCHEMA, min_rows=100)
    assert kinds(found) == {("out_of_range", "amount")}
    assert found[0].value == 0.1


def test_unseen_categories_and_missing_jumps_are_flagged() -> None:
    colours = ["purple"] * 60 + ["red"] * 240
    amounts = np.where(np.arange(300) < 120, np.nan, 50.0)
    found = quality_issues(reference(), live(colour=colours, amount=amounts), SCHEMA,
                           min_rows=100)
    assert kinds(found) == {("unseen_category", "colour"), ("missing_jump", "amount")}
    assert "purple" in next(i.message for i in found if i.kind == "unseen_category")


def test_few_rows_are_not_judged_and_latency_has_percentiles() -> None:
    assert quality_issues(reference(), live(10, amount=999.0), SCHEMA, min_rows=100) == []
    figures = latency_percentiles(np.arange(1, 101, dtype=float))
    assert figures["p50"] == 50.5 and 99 < figures["p99"] <= 100
