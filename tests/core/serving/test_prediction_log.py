"""The prediction log's lines: one typed record each, written by the service and read back
by the catalog with the same fields."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flows.core.serving.prediction_log import (
    LOGGED_COLUMNS,
    LoggedPrediction,
    PredictionLog,
    logged_files,
    read_rejections,
)
from flows.core.store.catalog import Catalog


def test_the_catalog_reads_every_field_a_line_has() -> None:
    assert list(LOGGED_COLUMNS) == list(LoggedPrediction.model_fields)


def test_answered_records_are_lines_the_catalog_ingests(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "logs")
    records = [{"age": 30, "city": "Oslo"}, {"age": None, "city": np.str_("Bergen")}]
    results = [{"prediction": "yes", "probabilities": {"no": 0.2, "yes": 0.8},
                "slice": "global", "model_version": "v1"},
               {"prediction": "no", "probabilities": {"no": 0.9, "yes": 0.1},
                "slice": "global", "model_version": "v1"}]
    log.append("r1", records, results, latency_ms=1.23456)
    [path] = logged_files(tmp_path / "logs")
    lines = [LoggedPrediction.model_validate_json(line)
             for line in path.read_text().splitlines()]
    assert [(line.index, line.features, line.result["prediction"]) for line in lines] == \
        [(0, records[0], "yes"), (1, {"age": None, "city": "Bergen"}, "no")]
    assert lines[0].latency_ms == 1.235
    catalog = Catalog(tmp_path / "autopipe.duckdb")
    assert catalog.ingest_prediction_logs([path]) == 2
    assert catalog.ingest_prediction_logs([path]) == 0  # idempotent
    traffic = catalog.logged_traffic()
    assert traffic["idx"].to_list() == [0, 1] and set(traffic["model_version"]) == {"v1"}


def test_refused_requests_are_read_back_with_their_reason(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path)
    log.reject("missing required field(s): age", records=3)
    [refused] = read_rejections(tmp_path)
    assert (refused.reason, refused.records) == ("missing required field(s): age", 3)
    assert refused.at.tzinfo is not None
