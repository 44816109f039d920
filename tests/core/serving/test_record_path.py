"""The compiled serving path gives the pipeline's answers, validates like it, and steps aside
when it cannot reproduce it."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from lightgbm import LGBMClassifier
from sklearn.linear_model import LogisticRegression

from flows.core.config import Settings
from flows.core.errors import InputValidationError
from flows.core.preparation.prepared import as_model, prepare_training
from flows.core.records.run import RunSummary
from flows.core.registry.model import COMPILED_MAX_ROWS, FittedModel, load_model
from flows.core.serving import record_path
from flows.core.serving.record_path import (
    CategoryLookup,
    DateParts,
    DocumentTerms,
    NumericChain,
    PipelinePath,
    RecordPath,
    compile_record_path,
)
from flows.core.store.catalog import Catalog
from tests.conftest import SAMPLE_RUNS

ROWS = 800
WORDS = np.array(["the", "cat", "sat", "on", "a", "mat", "while", "dogs", "ran", "past", "red",
                  "houses", "near", "old", "trees"])


def table() -> pl.DataFrame:
    """Every encoding the preparation makes: numbers with gaps, one-hot, ordinal and target-
    encoded categories (with gaps), a date and free text."""
    rng = np.random.default_rng(1)
    signal = rng.normal(size=ROWS)
    gappy = rng.normal(size=ROWS)
    gappy[::9] = np.nan
    colour = rng.choice(np.array(["red", "green", "blue", None], dtype=object), size=ROWS)
    city = np.array([f"city{i}" for i in rng.integers(0, 40, ROWS)], dtype=object)
    code = np.array([f"code{i}" for i in rng.integers(0, 250, ROWS)], dtype=object)
    day = np.datetime64("2024-01-01") + rng.integers(0, 365, ROWS).astype("timedelta64[D]")
    note = [" ".join(rng.choice(WORDS, size=rng.integers(3, 9))) for _ in range(ROWS)]
    label = np.where(signal + (colour == "red") + rng.normal(scale=0.5, size=ROWS) > 0.5,
                     "yes", "no")
    return pl.DataFrame({"signal": signal, "gappy": gappy, "colour": colour, "city": city,
                         "code": code, "day": day, "note": note, "label": label})


@cache
def model(learner: str = "lightgbm") -> tuple[FittedModel, list[dict[str, Any]]]:
    data = prepare_training(table(), "label", 0.3, seed=0, text_features="tfidf")
    estimator = LGBMClassifier(n_estimators=20, verbose=-1, n_jobs=1) \
        if learner == "lightgbm" else LogisticRegression()
    estimator.fit(data.x_train, data.split.y_train)
    fitted = as_model(data, estimator, learner, "v1")
    records = json.loads(data.split.x_test.to_json(orient="records", date_format="iso"))
    return fitted, records


def pipeline_answers(fitted: FittedModel, records: list[dict[str, Any]]) -> np.ndarray:
    return fitted.predict_proba(fitted.frame_from_records(records))


def test_every_encoding_compiles_to_its_fast_part() -> None:
    fitted, _ = model()
    path = compile_record_path(fitted)
    assert isinstance(path, RecordPath)
    kinds = {type(part) for part in path.parts}
    assert kinds == {NumericChain, CategoryLookup, DocumentTerms, DateParts}


@pytest.mark.parametrize("learner", ["lightgbm", "linear"])
def test_compiled_path_gives_the_pipeline_answers(learner: str) -> None:
    fitted, records = model(learner)
    path = compile_record_path(fitted)
    assert path is not None
    outputs, encoded = path.outputs(records)
    np.testing.assert_allclose(outputs, pipeline_answers(fitted, records), rtol=1e-9)
    for record in records[:20]:  # one record at a time, as a single-record request sends it
        np.testing.assert_allclose(path.outputs([record])[0],
                                   pipeline_answers(fitted, [record]), rtol=1e-9)
    assert encoded.unseen == fitted.unseen_categories(fitted.frame_from_records(records))
    assert set(encoded.unseen) == {"code"}  # 250 codes: the test part holds unseen ones


def test_unseen_and_missing_values_encode_like_the_pipeline() -> None:
    fitted, records = model()
    path = compile_record_path(fitted)
    assert path is not None
    odd = [dict(records[0], colour="purple", city=None, code="code-new", note=None,
                gappy=None, signal="2.5", day=None)]
    np.testing.assert_allclose(path.outputs(odd)[0], pipeline_answers(fitted, odd), rtol=1e-9)
    assert path.encode(odd).unseen == {"code": ["code-new"], "colour": ["purple"]}
    assert fitted.unseen_categories(fitted.frame_from_records(odd)) == path.encode(odd).unseen


@pytest.mark.parametrize(("change", "message"), [
    ({"signal": "high"}, "field 'signal' must be a number, got 'high'"),
    ({"signal": [1]}, "field 'signal' must be a number"),
    ({"day": "not a date"}, "field 'day' must be a date"),
])
def test_bad_values_are_named_like_the_pipeline_names_them(change: dict[str, Any],
                                                           message: str) -> None:
    fitted, records = model()
    path = compile_record_path(fitted)
    assert path is not None
    with pytest.raises(InputValidationError, match=message.replace("[", r"\[")):
        path.encode([dict(records[0], **change)])


def test_missing_fields_empty_batches_and_non_objects_are_refused() -> None:
    fitted, records = model()
    path = compile_record_path(fitted)
    assert path is not None
    incomplete = {k: v for k, v in records[0].items() if k not in ("city", "day")}
    with pytest.raises(InputValidationError, match="missing required field"):
        path.encode([records[1], incomplete])
    with pytest.raises(InputValidationError, match="no records"):
        path.encode([])
    with pytest.raises(InputValidationError, match="record 1 is not an object"):
        path.encode([records[0], 3])  # type: ignore[list-item]


def test_a_path_that_disagrees_with_the_pipeline_is_not_used(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fitted, records = model()
    original = CategoryLookup.transform
    monkeypatch.setattr(CategoryLookup, "transform",
                        lambda self, values: original(self, values) + 0.01)
    assert compile_record_path(fitted) is None
    fallback = record_path.record_path(fitted)
    assert isinstance(fallback, PipelinePath)
    np.testing.assert_allclose(fallback.outputs(records)[0], pipeline_answers(fitted, records))


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_the_sample_runs_models_compile_and_agree_on_every_row(
        trained: dict[str, RunSummary], task: str) -> None:
    fitted = load_model(Catalog(Settings().catalog_path).model(
        trained[task].model_version).artifact_path)
    path = compile_record_path(fitted)
    assert path is not None
    sample = pd.read_csv(SAMPLE_RUNS[task][0]).drop(columns=[fitted.target])
    records = json.loads(sample.to_json(orient="records"))
    frame = fitted.frame_from_records(records)
    expected = (fitted.predict_proba(frame) if fitted.task.is_classification
                else fitted.predict_frame(frame)["prediction"].to_numpy())
    np.testing.assert_allclose(path.outputs(records)[0], expected, rtol=1e-9)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_a_few_rows_in_process_take_the_compiled_path_with_the_pipelines_answers(
        trained: dict[str, RunSummary], task: str) -> None:
    fitted = load_model(Catalog(Settings().catalog_path).model(
        trained[task].model_version).artifact_path)
    sample = pd.read_csv(SAMPLE_RUNS[task][0]).drop(columns=[fitted.target]).head(200)
    assert len(sample) > COMPILED_MAX_ROWS >= 20
    few = fitted.predict_frame(fitted.validate_frame(sample.head(20)))  # compiled
    many = fitted.predict_frame(fitted.validate_frame(sample)).head(20)  # the pipeline
    assert fitted.compiled_path is not None
    pd.testing.assert_frame_equal(few, many, rtol=1e-9)
    pd.testing.assert_frame_equal(fitted.validate_frame(sample.head(20)),
                                  fitted.validate_frame(sample).head(20))
    assert "compiled_path" not in fitted.__getstate__()  # never saved with the model
