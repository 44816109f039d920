"""Feedback pieces on built data: labels files, the review queue's choices, the retraining
table and fresh split, live performance alerts and the error analysis."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline

from flows.core.config import FeedbackSettings
from flows.core.errors import AutopipeError, SourceError
from flows.core.monitoring.error_analysis import correction_analysis
from flows.core.monitoring.feedback import (
    LivePerformance,
    live_performance,
    performance_alert,
    read_labels_file,
)
from flows.core.monitoring.retraining import CORRECTED, feedback_table, split_fresh, training_table
from flows.core.monitoring.review import parse_label, review_candidates
from flows.core.registry.model import FittedModel
from flows.core.types import Task


def test_a_labels_file_needs_request_ids_and_a_label_column(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("request_id,index,survived\nr1,0,1\nr1,1,\nr2,3,0\n")
    rows = read_labels_file(good, {"survived"}, "file:good.csv", "ana")
    assert [(r.request_id, r.index, r.label) for r in rows] == [("r1", 0, 1), ("r2", 3, 0)]
    no_index = tmp_path / "no_index.json"
    no_index.write_text(json.dumps([{"request_id": "r9", "label": "yes"}]))
    assert [(r.index, r.label) for r in read_labels_file(no_index, {"y"}, "f", "a")] == [
        (0, "yes")]
    cases = {"no_id.csv": ("index,label\n0,1\n", "no 'request_id' column"),
             "no_label.csv": ("request_id,other\nr1,1\n", "no label column"),
             "empty_labels.csv": ("request_id,label\nr1,\n", "no labelled rows"),
             "labels.xml": ("<a/>", "cannot read labels")}
    for name, (text, message) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(SourceError, match=message):
            read_labels_file(path, {"survived"}, "f", "a")


def traffic(rows: list[tuple[str, str, float | None, float]]) -> pl.DataFrame:
    """(model, slice, confidence, draw) per logged prediction, newest first."""
    return pl.DataFrame(
        {"request_id": [f"r{i}" for i in range(len(rows))], "idx": [0] * len(rows),
         "model_version": [r[0] for r in rows], "slice": [r[1] for r in rows],
         "confidence": [r[2] for r in rows], "draw": [r[3] for r in rows]},
        schema_overrides={"confidence": pl.Float64})


def alerts(*rows: tuple[str, str, str | None, str]) -> pl.DataFrame:
    return pl.DataFrame({"alert_id": [r[0] for r in rows], "kind": [r[1] for r in rows],
                         "slice": [r[2] for r in rows], "model_version": [r[3] for r in rows]})


def test_the_queue_puts_drifted_slices_first_then_unsure_then_a_random_sample() -> None:
    logged = traffic([("m1", "a", 0.95, 0.5), ("m1", "b", 0.55, 0.5), ("m1", "b", 0.9, 0.001),
                      ("m1", "a", 0.99, 0.9), ("m2", "global", None, 0.9)])
    settings = FeedbackSettings(per_alert=1, sample_share=0.01, confidence_below=0.6)
    items = review_candidates(logged, alerts(("al1", "drift", "a", "m1")), settings)
    assert [(i.request_id, i.reason) for i in items] == [
        ("r0", "drifted slice"), ("r1", "low confidence"), ("r2", "quality sample")]
    assert items[0].alert_id == "al1" and items[1].confidence == pytest.approx(0.55)
    capped = review_candidates(logged, alerts(("al1", "drift", "a", "m1")),
                               settings.model_copy(update={"max_new_reviews": 1}))
    assert [i.request_id for i in capped] == ["r0"]
    quality = review_candidates(logged, alerts(("al2", "out_of_range", None, "m2")), settings)
    assert ("r4", "alert") in [(i.request_id, i.reason) for i in quality]


def labelled(features: list[dict[str, object]], labels: list[object],
             predictions: list[object], slices: list[str] | None = None) -> pl.DataFrame:
    return pl.DataFrame({
        "features": [json.dumps(f) for f in features],
        "label": [json.dumps(v) for v in labels],
        "result": [json.dumps({"prediction": p}) for p in predictions],
        "corrected": [v != p for v, p in zip(labels, predictions, strict=True)],
        "slice": slices or ["global"] * len(labels)})


def test_feedback_rows_take_the_training_columns_and_replace_identical_rows() -> None:
    snapshot = pl.DataFrame({"age": [30.0, 40.0, 50.0], "city": ["a", "b", "c"],
                             "y": [0, 1, 0]})
    feedback = feedback_table(labelled(
        [{"age": 40, "city": "b", "extra": 1}, {"age": "61", "city": None}],
        [0, 1], [1, 1]), snapshot.schema, "y")
    assert feedback.columns == ["age", "city", "y", CORRECTED]
    assert feedback.to_dicts() == [{"age": 40.0, "city": "b", "y": 0, CORRECTED: True},
                                   {"age": 61.0, "city": None, "y": 1, CORRECTED: False}]
    table = training_table(snapshot, feedback, "y")
    assert table.height == 4  # (40, b) is replaced by its correction
    assert table.filter(city="b")["y"].to_list() == [0]


def test_the_fresh_split_is_seeded_disjoint_and_spares_tiny_tables() -> None:
    table = pl.DataFrame({"x": list(range(100)), CORRECTED: [False] * 100})
    trained, fresh = split_fresh(table, 0.3, seed=4)
    assert (trained.height, fresh.height) == (70, 30)
    assert set(trained["x"]).isdisjoint(fresh["x"])
    assert split_fresh(table, 0.3, seed=4)[1]["x"].to_list() == fresh["x"].to_list()
    assert split_fresh(table.head(1), 0.3, seed=4)[1].height == 0


def test_a_live_metric_well_below_its_test_metric_alerts() -> None:
    def live(value: float, labelled_rows: int = 50, metric: str = "roc_auc") -> LivePerformance:
        return LivePerformance("m1", "global", labelled_rows, 5, metric, value, 0.9, {})

    assert performance_alert(live(0.85), 30, 0.1) is None  # 5.6% worse
    alert = performance_alert(live(0.7), 30, 0.1)
    assert alert is not None and alert.kind == "performance" and alert.severity == "critical"
    assert (alert.value, alert.threshold, alert.statistic) == (0.7, 0.9, "roc_auc")
    assert performance_alert(live(0.7, labelled_rows=10), 30, 0.1) is None  # too few labels
    assert performance_alert(live(1.05, metric="rmse"), 30, 0.1) is not None  # lower=better


def test_error_analysis_finds_where_corrections_concentrate() -> None:
    features = [{"city": "north" if i < 20 else "south", "age": float(i)} for i in range(40)]
    labels = [1 if i < 20 and i % 2 == 0 else 0 for i in range(40)]
    analysis = correction_analysis(
        labelled(features, labels, [0] * 40, ["s1"] * 20 + ["s2"] * 20),
        {"city": "text", "age": "number"})
    assert (analysis["labelled"], analysis["corrected"]) == (40, 10)
    assert {r["group"]: r["rate"] for r in analysis["by_slice"]} == {"s1": 0.5, "s2": 0.0}
    assert analysis["by_class"] == [{"label": "1", "predicted": "0", "count": 10}]
    city = next(f for f in analysis["by_feature"] if f["feature"] == "city")
    assert {g["group"]: g["rate"] for g in city["groups"]} == {"north": 0.5, "south": 0.0}
    assert city["spread"] == pytest.approx(0.25)


def yes_no_model() -> FittedModel:
    """A binary model of a target written Yes/No (no fitting: only its classes matter)."""
    return FittedModel("v1", Task.BINARY, "y", "dummy", ("No", "Yes"), {},
                       Pipeline([("model", DummyClassifier())]))


@pytest.mark.parametrize(("typed", "label"), [
    ("Yes", "Yes"), ("yes", "Yes"), (" true ", "Yes"), ("n", "No"), ("2", "Yes")])
def test_a_reviewer_label_is_the_class_it_means(typed: str, label: str) -> None:
    assert parse_label(yes_no_model(), typed) == label  # '2': the second listed choice


def test_a_reviewer_label_of_no_class_is_refused_with_the_choices() -> None:
    with pytest.raises(AutopipeError, match="'maybe' is not a class") as info:
        parse_label(yes_no_model(), "maybe")
    assert info.value.hint == "choose one of: No, Yes"


def test_feedback_labels_become_the_targets_written_classes() -> None:
    written = pl.Enum(["No", "Yes"])
    snapshot = pl.DataFrame({"x": [1.0, 2.0], "y": pl.Series(["No", "Yes"], dtype=written)})
    feedback = feedback_table(labelled([{"x": 3}, {"x": 4}, {"x": 5}], ["yes", True, " No"],
                                       ["No", "No", "No"]), snapshot.schema, "y")
    assert feedback["y"].dtype == written
    assert feedback["y"].to_list() == ["Yes", "Yes", "No"]
    assert training_table(snapshot, feedback, "y")["y"].to_list() == ["No", "Yes", "Yes", "Yes",
                                                                       "No"]


def test_live_performance_matches_labels_to_the_written_classes() -> None:
    results = [{"prediction": p, "probabilities": {"No": 1 - q, "Yes": q}}
               for p, q in (("Yes", 0.9), ("No", 0.2), ("No", 0.4), ("No", 0.3))]
    rows = labelled([{}] * 4, [True, "no", "yes", "maybe"], [r["prediction"] for r in results])
    performance = live_performance(yes_no_model(), {"accuracy": 1.0}, "global",
                                   rows.with_columns(result=pl.Series(
                                       [json.dumps(r) for r in results])))
    # True and 'no' were predicted right, 'yes' wrong; 'maybe' means no class: left out.
    assert performance.live_metrics["accuracy"] == pytest.approx(2 / 3)
