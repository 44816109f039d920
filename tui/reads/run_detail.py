"""The run detail read model: one recorded run as plain values (headline, metrics against
the baselines, leaderboard, slices, chart series), built in a worker thread so the screen
only formats and draws, and tests check the numbers without a terminal.

It reads what the HTML run report reads (``flows.core.reports.files.run_facts``: catalog rows, the
model card, the held-out predictions) so the terminal and the report agree. Curves and the
confusion matrix come from the held-out predictions: rows the search never saw.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from flows.core.records.training import IntegrationFacts
from flows.core.reports.files import run_facts
from flows.core.store.catalog import Catalog
from flows.core.types import LOWER_IS_BETTER, beats

MAX_POINTS = 1_000
"""A terminal chart has a few hundred cells: more points only cost drawing time."""
MAX_FEATURES = 12


@dataclass(frozen=True)
class MetricRow:
    """One held-out metric of the model and of each baseline (in ``baseline_roles`` order)."""

    metric: str
    model: float | None
    baselines: tuple[float | None, ...]
    interval: tuple[float, float] | None
    beats_baselines: bool | None
    """Whether the model is better than the best baseline on this metric."""


@dataclass(frozen=True)
class LearnerRow:
    """A learner's share of the search: its trials and the best validation loss it reached."""

    learner: str
    trials: int
    best_loss: float | None
    seconds: float


@dataclass(frozen=True)
class CandidateRow:
    """A model the integration stage compared (a bagged configuration, a blend or a stack),
    with its out-of-fold loss; ``role`` says whether it was chosen."""

    name: str
    learner: str
    validation_loss: float | None
    fit_s: float | None
    latency_ms: float | None
    role: str
    """'chosen', 'member' (of a chosen blend or stack) or ''."""
    weight: float | None = None
    """Its weight in the chosen blend (1 when chosen alone)."""


@dataclass(frozen=True)
class SliceRow:
    """A slice's own model against the global one on the slice's held-out rows."""

    name: str
    served_by: str
    own: float | None
    shared: float | None
    gain: float | None
    """Own minus global on the main metric, signed so that positive is better."""
    note: str


@dataclass(frozen=True)
class Curve:
    x: tuple[float, ...]
    y: tuple[float, ...]


@dataclass(frozen=True)
class Charts:
    """The series the charts tab draws; empty when the run stored nothing to draw from."""

    best_so_far: Curve = Curve((), ())
    """Running best validation loss against seconds into the search."""
    trials: Curve = Curve((), ())
    """Each trial's validation loss against seconds into the search."""
    roc: dict[str, Curve] = field(default_factory=dict)
    """Binary: one curve per model (model, baselines); multiclass: one per class."""
    residuals: Curve | None = None
    """Regression: actual minus predicted against predicted."""
    classes: tuple[str, ...] = ()
    confusion: tuple[tuple[int, ...], ...] = ()
    """Rows: true class; columns: predicted class (both in ``classes`` order)."""
    importance: tuple[tuple[str, float], ...] = ()
    """Permutation importance, largest first."""


@dataclass(frozen=True)
class RunDetail:
    run_id: str
    dataset: str
    target: str
    task: str
    learner: str
    model_version: str
    main_metric: str
    model_score: float | None
    baseline_score: float | None
    """The best baseline's score on the main metric."""
    duration_s: float | None
    budget_s: float | None
    training_rows: int | None
    test_rows: int | None
    validation: str
    """How candidates were judged: the folds they were bagged over."""
    baseline_roles: tuple[str, ...]
    baseline_learners: tuple[str, ...]
    metrics: tuple[MetricRow, ...]
    learners: tuple[LearnerRow, ...]
    candidates: tuple[CandidateRow, ...]
    integration: str
    """The choice in words: kind, members and why."""
    slices: tuple[SliceRow, ...]
    charts: Charts

    @property
    def beats_baseline(self) -> bool | None:
        return _compare(self.main_metric, self.model_score, self.baseline_score)


def load_run_detail(catalog: Catalog, run_id: str) -> RunDetail:
    """Everything the run detail screen shows; AutopipeError when the run is unknown."""
    facts = run_facts(catalog, run_id)
    run, card = facts.run, facts.card
    metric = run["main_metric"]
    values = {(r["role"], r["metric"]): r["value"] for r in facts.evaluations.iter_rows(
        named=True)}
    learner_of = {r["role"]: r["learner"] for r in facts.evaluations.iter_rows(named=True)}
    roles = tuple(sorted(role for role in learner_of if role != "model"))
    metrics = tuple(_metric_row(name, values, roles, card.intervals)
                    for name in sorted({m for _, m in values}))
    return RunDetail(
        run_id=run_id, dataset=run["dataset"], target=run["target"], task=run["task"],
        learner=run.get("learner") or "", model_version=run.get("model_version") or "",
        main_metric=metric, model_score=values.get(("model", metric)),
        baseline_score=_best(metric, [values.get((r, metric)) for r in roles]),
        duration_s=run.get("duration_s"), budget_s=run.get("budget_s"),
        training_rows=card.training_rows, test_rows=card.test_rows,
        validation=card.validation or "",
        baseline_roles=roles, baseline_learners=tuple(learner_of[r] for r in roles),
        metrics=metrics, learners=search_learners(facts.trials),
        candidates=candidates(card.integration),
        integration=integration_text(card.integration),
        slices=slice_rows(facts.slices, metric) if facts.slices is not None else (),
        charts=charts(facts.trials, facts.held_out, run["task"],
                      card.permutation_importance))


def _metric_row(metric: str, values: dict[tuple[str, str], float | None],
                roles: Sequence[str], intervals: Mapping[str, tuple[float, float]]) -> MetricRow:
    model = values.get(("model", metric))
    baselines = tuple(values.get((role, metric)) for role in roles)
    interval = intervals.get(metric)
    return MetricRow(metric, model, baselines,
                     (float(interval[0]), float(interval[1])) if interval else None,
                     _compare(metric, model, _best(metric, baselines)))


def search_learners(trials: pl.DataFrame) -> tuple[LearnerRow, ...]:
    """Per learner the search tried: trials, best validation loss, seconds; best first."""
    if trials.is_empty():
        return ()
    grouped = trials.group_by("learner").agg(
        pl.len().alias("trials"), pl.col("val_loss").min().alias("best"),
        pl.col("trial_time_s").sum().alias("seconds")).sort("best", "learner",
                                                            nulls_last=True)
    return tuple(LearnerRow(r["learner"], r["trials"], r["best"], r["seconds"] or 0.0)
                 for r in grouped.iter_rows(named=True))


def candidates(integration: IntegrationFacts | None) -> tuple[CandidateRow, ...]:
    """The integration stage's candidates, best first, then the blend and the stack it
    weighed against the best single one."""
    if integration is None:
        return ()
    kind, members = integration.kind, set(integration.members)
    losses = integration.validation_loss
    weights = dict(zip(integration.members, integration.weights or [1.0], strict=False))
    rows = [CandidateRow(name, c.learner, c.validation_loss, c.fit_s, c.one_row_ms,
                         "" if name not in members else "chosen" if kind == "single"
                         else "member", weights.get(name))
            for name, c in integration.candidates.items()]
    rows.sort(key=lambda row: (row.validation_loss is None, row.validation_loss or 0.0))
    rows += [CandidateRow(option, f"{option} of the best", losses[option], None,
                          integration.latency_ms_1_row.get(option),
                          "chosen" if kind == option else "")
             for option in ("blend", "stack") if option in losses]
    return tuple(rows)


def integration_text(integration: IntegrationFacts | None) -> str:
    if integration is None:
        return "no integration recorded"
    text = f"{integration.kind} of {', '.join(integration.members)}"
    return f"{text} · {integration.reason}" if integration.reason else text


def slice_rows(slices: pl.DataFrame, metric: str) -> tuple[SliceRow, ...]:
    """Each slice: who serves it, and its own and the global model's main metric there."""
    rows = []
    for row in slices.iter_rows(named=True):
        measured = json.loads(row["metrics"]) if row["metrics"] else {}
        own = (measured.get("slice") or {}).get(metric)
        shared = (measured.get("global") or {}).get(metric)
        own_model = row["model_version"] is not None \
            and row["champion_version"] == row["model_version"]
        gain = None if own is None or shared is None else \
            (shared - own if metric in LOWER_IS_BETTER else own - shared)
        rows.append(SliceRow(row["slice"], "own model" if own_model else "global", own,
                             shared, gain, row["reason"] or ""))
    return tuple(rows)


def charts(trials: pl.DataFrame, held_out: pl.DataFrame | None, task: str,
           importance: dict[str, float]) -> Charts:
    ranked = tuple(sorted(importance.items(), key=lambda item: -item[1])[:MAX_FEATURES])
    best, points = search_progress(trials)
    if held_out is None or held_out.is_empty():
        return Charts(best, points, importance=ranked)
    if task == "regression":
        return Charts(best, points, residuals=residuals(held_out), importance=ranked)
    classes, confusion = confusion_matrix(held_out)
    return Charts(best, points, roc=roc_curves(held_out, task), classes=classes,
                  confusion=confusion, importance=ranked)


def search_progress(trials: pl.DataFrame) -> tuple[Curve, Curve]:
    """The running best validation loss, and every trial's, by seconds into the search."""
    done = trials.filter(pl.col("val_loss").is_not_null()).sort("wall_clock_s") \
        if not trials.is_empty() else trials
    if done.is_empty():
        return Curve((), ()), Curve((), ())
    times = done["wall_clock_s"].cast(pl.Float64).to_numpy()
    losses = done["val_loss"].cast(pl.Float64).to_numpy()
    best = np.minimum.accumulate(losses)
    return _curve(times, best), _curve(times, losses)


def roc_curves(held_out: pl.DataFrame, task: str) -> dict[str, Curve]:
    """Binary: the ROC curve of the model and of each baseline (positive class: the last);
    multiclass: the model's curve per class, one against the rest."""
    from sklearn.metrics import roc_curve

    truth = held_out["y_true"].cast(pl.String).to_numpy()
    classes = _classes(held_out)
    if task == "binary":
        positive = classes[-1]
        roles = sorted({c.split(":", 1)[0] for c in held_out.columns if ":" in c},
                       key=lambda r: (r != "model", r))
        pairs = {role: (truth == positive, held_out[f"{role}:{positive}"].to_numpy())
                 for role in roles}
    else:
        pairs = {label: (truth == label, held_out[f"model:{label}"].to_numpy())
                 for label in classes}
    curves = {}
    for name, (is_positive, score) in pairs.items():
        if is_positive.all() or not is_positive.any():
            continue  # a curve needs both outcomes among the rows
        fpr, tpr, _ = roc_curve(is_positive, score)
        curves[name] = _curve(fpr, tpr)
    return curves


def confusion_matrix(held_out: pl.DataFrame) -> tuple[tuple[str, ...], tuple[tuple[int, ...],
                                                                                 ...]]:
    """The model's most probable class against the true class, counted."""
    classes = _classes(held_out)
    truth = held_out["y_true"].cast(pl.String).to_list()
    proba = held_out.select([f"model:{c}" for c in classes]).to_numpy()
    index = {label: i for i, label in enumerate(classes)}
    counts = np.zeros((len(classes), len(classes)), dtype=int)
    for true, predicted in zip(truth, proba.argmax(axis=1), strict=True):
        if true in index:
            counts[index[true], predicted] += 1
    return tuple(classes), tuple(tuple(int(v) for v in row) for row in counts)


def residuals(held_out: pl.DataFrame) -> Curve:
    """Actual minus predicted against predicted, for the model."""
    truth = held_out["y_true"].cast(pl.Float64).to_numpy()
    predicted = held_out["model"].cast(pl.Float64).to_numpy()
    return _curve(predicted, truth - predicted)


def _classes(held_out: pl.DataFrame) -> list[str]:
    return [c.split(":", 1)[1] for c in held_out.columns if c.startswith("model:")]


def _curve(x: np.ndarray, y: np.ndarray) -> Curve:
    """At most MAX_POINTS evenly spaced points, the first and last kept."""
    if len(x) > MAX_POINTS:
        keep = np.unique(np.linspace(0, len(x) - 1, MAX_POINTS).round().astype(int))
        x, y = x[keep], y[keep]
    return Curve(tuple(float(v) for v in x), tuple(float(v) for v in y))


def _best(metric: str, values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    if not known:
        return None
    return min(known) if metric in LOWER_IS_BETTER else max(known)


def _compare(metric: str, model: float | None, baseline: float | None) -> bool | None:
    return None if model is None or baseline is None else beats(metric, model, baseline)
