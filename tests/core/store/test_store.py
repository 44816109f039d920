from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from flows.core.errors import ModelNotFoundError
from flows.core.store.catalog import Catalog
from flows.core.types import (
    DatasetRef,
    Evaluation,
    Exclusion,
    ModelRecord,
    RunRecord,
    StageUsage,
    Task,
    Trial,
)


def run_record(run_id: str, started: datetime, tmp_path: Path) -> RunRecord:
    dataset = DatasetRef("titanic", "ab" * 32, tmp_path / "d.parquet", "t.csv", 891, 11,
                         started)
    return RunRecord(
        run_id=run_id, dataset=dataset, target="survived", task=Task.BINARY, budget_s=5,
        seed=0, started_at=started, finished_at=started + timedelta(seconds=12),
        main_metric="roc_auc", exclusions=(Exclusion("name", "identifier"),),
        trials=(Trial(0, "lgbm", {"n_estimators": 4}, 0.2, 0.1, 0.1),
                Trial(1, "rf", {"n_estimators": 8}, 0.15, 0.3, 0.4)),
        evaluations=(Evaluation("model", "rf", {"roc_auc": 0.85, "f1": 0.7}),
                     Evaluation("baseline_linear", "lr", {"roc_auc": 0.80, "f1": 0.72}),
                     Evaluation("baseline_hgb", "hgb", {"roc_auc": 0.82, "f1": 0.69})),
        stages=(StageUsage("ingest", started, 0.1, 0.1, 300.0),
                StageUsage("search", started, 5.0, 9.0, 400.0)),
        model=ModelRecord(f"titanic-{run_id}", run_id, "ab" * 32, "survived", Task.BINARY,
                          "rf", tmp_path / run_id, started, {"roc_auc": 0.85}))


def test_a_saved_run_reads_back(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "autopipe.duckdb")
    now = datetime(2026, 1, 1, 12, 0)
    catalog.save_run(run_record("r1", now, tmp_path))
    catalog.save_run(run_record("r2", now + timedelta(hours=1), tmp_path))
    runs = catalog.list_runs()
    assert runs["run_id"].to_list() == ["r2", "r1"]
    first = runs.row(0, named=True)
    assert first["model_score"] == 0.85
    assert first["baseline_max"] == 0.82 and first["baseline_min"] == 0.80
    assert first["duration_s"] == pytest.approx(12)
    assert catalog.trials("r1")["learner"].to_list() == ["lgbm", "rf"]
    assert catalog.stage_resources("r1")["stage"].to_list() == ["ingest", "search"]
    assert len(catalog.evaluations("r1")) == 6
    counts = catalog.table_counts()
    assert counts["datasets"] == 1  # the same content hash is one dataset version
    assert counts["runs"] == 2 and counts["models"] == 2
    assert counts["audit_log"] == 4  # each registration, and the alias it set
    assert catalog.model().version == "titanic-r2"
    assert catalog.model("titanic-r1").metrics == {"roc_auc": 0.85}


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "autopipe.duckdb")
    now = datetime(2026, 1, 1)
    catalog.save_run(run_record("r1", now, tmp_path))
    before = catalog.table_counts()
    with pytest.raises(Exception, match=r"(?i)constraint|duplicate"):
        catalog.save_run(run_record("r1", now, tmp_path))  # same run id: primary key clash
    assert catalog.table_counts() == before


def test_unknown_model_version_is_a_clear_error(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "autopipe.duckdb")
    with pytest.raises(ModelNotFoundError, match="no model has been registered"):
        catalog.model()
    with pytest.raises(ModelNotFoundError, match="no model version 'v9'"):
        catalog.model("v9")


def test_connections_are_serialised_by_the_file_lock(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "autopipe.duckdb")
    order: list[str] = []
    holding = threading.Event()

    def hold() -> None:
        with catalog.connect():
            holding.set()
            time.sleep(0.3)
            order.append("writer done")

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait()
    catalog.table_counts()  # waits for the lock instead of failing on DuckDB's own lock
    order.append("reader done")
    thread.join()
    assert order == ["writer done", "reader done"]
