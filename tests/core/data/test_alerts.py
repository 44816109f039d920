"""Every data alert fires on a frame built to trigger it, and not on one built not to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from flows.core.data.profile import profile_snapshot

ROWS = 600


def clean(rows: int = ROWS) -> pl.DataFrame:
    """Nothing to alert on: balanced target, moderate numbers, few levels, no gaps."""
    rng = np.random.default_rng(0)
    signal = rng.normal(size=rows)
    return pl.DataFrame({
        "signal": signal,
        "other": rng.normal(size=rows),
        "colour": rng.choice(["red", "green", "blue"], rows),
        "label": np.where(signal + rng.normal(scale=2.0, size=rows) > 0, "yes", "no"),
    })


def alerts(tmp_path: Path, data: pl.DataFrame, target: str | None = "label",
           duplicates: int = 0, kept: int = 0) -> list[dict[str, Any]]:
    path = tmp_path / "data.parquet"
    data.write_parquet(path)
    return profile_snapshot(path, target, seed=0, duplicates_dropped=duplicates,
                            duplicates_kept=kept)["alerts"]


def kinds(found: list[dict[str, Any]]) -> set[tuple[str, str | None]]:
    return {(a["kind"], a["column"]) for a in found}


def test_a_clean_frame_raises_no_alert(tmp_path: Path) -> None:
    assert alerts(tmp_path, clean()) == []


def with_column(name: str, values: Any) -> pl.DataFrame:
    return clean().with_columns(pl.Series(name, values))


rng = np.random.default_rng(1)
gappy = rng.normal(size=ROWS)
gappy[: ROWS // 2] = np.nan
CASES = {
    "constant": ("fixed", ["same"] * ROWS, "warning"),
    "identifier": ("customer", [f"C{i:05d}" for i in range(ROWS)], "warning"),
    "high_cardinality": ("city", [f"city{i % 120}" for i in range(ROWS)], "info"),
    "missing": ("gappy", gappy, "warning"),
    "skew": ("income", np.exp(rng.normal(0, 1.5, ROWS)), "info"),
    "zeros": ("visits", np.where(rng.random(ROWS) < 0.8, 0.0, rng.random(ROWS) * 9), "info"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_column_alert_fires_on_its_column(tmp_path: Path, kind: str) -> None:
    column, values, severity = CASES[kind]
    found = [a for a in alerts(tmp_path, with_column(column, values)) if a["kind"] == kind]
    assert [(a["column"], a["severity"]) for a in found] == [(column, severity)]
    assert found[0]["message"]


def test_missing_share_above_sixty_percent_is_critical(tmp_path: Path) -> None:
    values = np.where(np.arange(ROWS) < 0.7 * ROWS, np.nan, 1.0)
    found = [a for a in alerts(tmp_path, with_column("sparse", values)) if a["kind"] == "missing"]
    assert found[0]["severity"] == "critical"
    assert found[0]["value"] == pytest.approx(0.7, abs=0.01)


def test_duplicates_dropped_at_ingest_are_reported(tmp_path: Path) -> None:
    found = [a for a in alerts(tmp_path, clean(), duplicates=60) if a["kind"] == "duplicates"]
    assert found[0]["severity"] == "warning"  # 60 of 660 rows: above 5%
    assert "60 repeated rows" in found[0]["message"]


def test_duplicates_kept_at_ingest_are_reported_with_what_they_mean(tmp_path: Path) -> None:
    found = [a for a in alerts(tmp_path, clean(), kept=20) if a["kind"] == "duplicates"]
    assert found[0]["severity"] == "info"  # 20 of 600 rows: below 5%
    assert "20 rows exactly repeat" in found[0]["message"]
    assert "kept as observations" in found[0]["message"]


def test_imbalance_fires_on_a_rare_class(tmp_path: Path) -> None:
    labels = np.where(np.arange(ROWS) < 30, "yes", "no")  # 5%
    found = [a for a in alerts(tmp_path, with_column("label", labels))
             if a["kind"] == "imbalance"]
    assert [(a["column"], a["severity"]) for a in found] == [("label", "warning")]
    assert found[0]["value"] == pytest.approx(0.05)


def test_leakage_fires_on_a_copy_of_the_target(tmp_path: Path) -> None:
    data = clean()
    leaky = data.with_columns(pl.when(pl.col("label") == "yes").then(1.0).otherwise(0.0)
                              .alias("outcome_code"))
    found = [a for a in alerts(tmp_path, leaky) if a["kind"] == "leakage"]
    assert [(a["column"], a["severity"]) for a in found] == [("outcome_code", "critical")]


def test_correlated_pairs_fire_once_per_pair(tmp_path: Path) -> None:
    data = clean().with_columns((pl.col("other") * 2 + 0.001).alias("other_twice"))
    found = [a for a in alerts(tmp_path, data) if a["kind"] == "correlated"]
    assert [a["column"] for a in found] == ["other ~ other_twice"]
    assert found[0]["value"] == pytest.approx(1.0)


def test_a_frame_without_target_still_gets_column_alerts(tmp_path: Path) -> None:
    found = alerts(tmp_path, with_column("fixed", ["same"] * ROWS), target=None)
    assert kinds(found) == {("constant", "fixed")}


def test_alerts_are_ordered_most_severe_first(tmp_path: Path) -> None:
    data = with_column("fixed", ["same"] * ROWS).with_columns(
        pl.Series("sparse", np.where(np.arange(ROWS) < 0.7 * ROWS, np.nan, 1.0)),
        pl.Series("income", np.exp(rng.normal(0, 1.5, ROWS))))
    severities = [a["severity"] for a in alerts(tmp_path, data)]
    assert severities == sorted(severities, key=["critical", "warning", "info"].index)
