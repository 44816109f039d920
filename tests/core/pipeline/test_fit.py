"""Fitting a model without Prefect: reproducible with a model count, the test part unseen,
rare classes and small tables handled without a warning reaching the user."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

from flows.core.pipeline import fit as fitting
from flows.core.pipeline.budget import Clock
from flows.core.pipeline.fit import FitOptions, fit_model
from flows.core.preparation.prepared import PreparedData, prepare_split, prepare_training
from flows.core.preparation.split import Split
from flows.core.training import bagging
from flows.core.types import Task

DATA = Path(__file__).resolve().parents[2] / "data"
SAMPLES = Path(__file__).resolve().parents[3] / "data" / "samples"


def prepared(name: str, target: str) -> PreparedData:
    folder = SAMPLES if (SAMPLES / name).exists() else DATA
    return prepare_training(pl.read_csv(folder / name), target, 0.2, seed=0)


def counted(models: int) -> Clock:
    return Clock(time.monotonic(), budget=1.0, max_models=models)


def test_a_model_count_reproduces_the_model_bit_for_bit() -> None:
    data = prepared("titanic.csv", "survived")
    options = FitOptions(seed=0, n_jobs=2, max_models=3,
                         learners=("linear", "lgbm", "extra_tree"))
    first, again = (fit_model(data, options, "v", counted(3), announce=False) for _ in range(2))
    features = data.split.x_test[list(first.model.input_schema)]
    np.testing.assert_array_equal(first.model.predict_proba(features),
                                  again.model.predict_proba(features))
    assert first.evaluations[0].metrics == again.evaluations[0].metrics
    assert [t.learner for t in first.trials] == ["linear", "lgbm", "lgbm_2"]  # in order
    chosen = ("kind", "members", "weights", "validation_loss")
    assert [getattr(first.integration, k) for k in chosen] == \
        [getattr(again.integration, k) for k in chosen]
    assert first.training_facts().fold_count == 8


def test_the_test_part_is_never_seen_by_any_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"a": rng.normal(size=300), "marker": rng.normal(size=300)})
    test = pd.DataFrame({"a": rng.normal(size=80), "marker": 1e6})  # unmistakable rows
    split = Split(Task.BINARY, "y", train, test, (train["a"] > 0).to_numpy().astype(int),
                  (test["a"] > 0).to_numpy().astype(int), (0, 1), 0)
    data = prepare_split(split, seed=0)
    seen: list[float] = []
    real_fit_fold, real_baselines = bagging.fit_fold, fitting.fit_baselines

    def fit_fold(config: Any, matrix: Any, fit_rows: Any, valid_rows: Any,
                 *args: Any, **kwargs: Any) -> Any:
        seen.append(float(np.abs(matrix.x[np.concatenate([fit_rows, valid_rows])]).max()))
        return real_fit_fold(config, matrix, fit_rows, valid_rows, *args, **kwargs)

    def fit_baselines(x: np.ndarray, *args: Any, **kwargs: Any) -> Any:
        seen.append(float(np.abs(x).max()))
        return real_baselines(x, *args, **kwargs)

    monkeypatch.setattr(bagging, "fit_fold", fit_fold)
    monkeypatch.setattr(fitting, "fit_baselines", fit_baselines)
    fitted = fit_model(data, FitOptions(seed=0, n_jobs=1, max_models=2), "v", counted(2),
                       announce=False)
    assert len(seen) == 1 + 2 * 8 and max(seen) < 100  # scaled train values; test rows: 1e5+
    assert len(fitted.evaluations[0].outputs) == 80  # the test rows: evaluated, never fitted


@pytest.mark.parametrize(("name", "target", "smallest"), [("ecoli.csv", "site", 2),
                                                          ("glass.csv", "glass_type", 9)])
def test_a_multiclass_target_with_a_handful_of_rows_in_a_class_trains_quietly(
        name: str, target: str, smallest: int) -> None:
    data = prepared(name, target)
    counts = pl.read_csv(DATA / name)[target].value_counts()["count"]
    assert int(counts.min()) == smallest
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = fit_model(data, FitOptions(seed=0, n_jobs=1, max_models=3), "v", counted(3),
                           announce=False)
    assert not [w for w in caught if "least populated class" in str(w.message)]
    assert [t.learner for t in fitted.trials] == ["linear", "lgbm", "catboost"]  # none failed
    assert not fitted.training_facts().skipped
    metrics = fitted.evaluations[0].metrics
    assert np.isfinite(metrics["log_loss"]) and metrics["accuracy"] > 0.6
    assert fitted.model.predict_proba(data.split.x_test).shape[1] == len(data.split.classes)


def test_a_budget_is_kept_and_says_where_the_time_went() -> None:
    data = prepared("titanic.csv", "survived")
    started = time.monotonic()
    fitted = fit_model(data, FitOptions(seed=0, n_jobs=1), "v", Clock(started, 6.0),
                       announce=False)
    assert time.monotonic() - started < 6.0 + 1.0
    stages = [s.stage for s in fitted.stages]
    assert stages == ["baseline", "portfolio", "tune", "integrate", "evaluate", "explain"]
    facts = fitted.training_facts()
    assert facts.portfolio and facts.portfolio[0].name == "linear"
    assert {fit.name for fit in facts.portfolio} | {s.name for s in facts.skipped}


def test_a_model_slower_for_its_caller_than_promised_is_chosen_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The assembled model's own latency decides, not the sum of its members' (which a
    # fresh process measured up to 2x over): the first choice "answers" in 50 ms here.
    waits = iter([50.0, 3.0])
    measured: list[str] = []

    def caller_ms(model: Any, features: pd.DataFrame) -> float:
        measured.append(model.learner)
        return next(waits)

    monkeypatch.setattr(fitting, "caller_ms", caller_ms)
    data = prepared("titanic.csv", "survived")
    fitted = fit_model(data, FitOptions(seed=0, n_jobs=1, learners=("linear", "lgbm")), "v",
                       Clock(time.monotonic(), 6.0), announce=False)
    assert len(measured) == 2
    assert fitted.integration.caller_ms_1_row == 3.0
    assert f"{measured[0]} answered one row in 50.0 ms" in fitted.integration.reason
    assert fitted.model.learner == measured[1]


def test_the_latency_check_gives_up_after_its_last_choice(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(fitting, "caller_ms", lambda model, features: calls.append("") or 80.0)
    data = prepared("titanic.csv", "survived")
    fitted = fit_model(data, FitOptions(seed=0, n_jobs=1, learners=("linear", "lgbm")), "v",
                       Clock(time.monotonic(), 6.0), announce=False)
    assert len(calls) == fitting.LATENCY_RECHOICES + 1
    assert fitted.integration.caller_ms_1_row == 80.0
