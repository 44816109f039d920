"""The run report: what a run found, how good it is against its baselines, and what it cost.

Everything is read back from what the run stored (catalog rows, the model card, the held-out
predictions) so ``autopipe report RUN_ID`` rebuilds the same page later. Curves, the confusion
matrix and residuals are computed from the held-out predictions: rows the search never saw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from sklearn.calibration import calibration_curve
from sklearn.metrics import confusion_matrix, precision_recall_curve, roc_curve

from flows.core.records.card import ModelCard
from flows.core.reports import charts
from flows.core.reports.data import sections_for_run
from flows.core.reports.html import Markup, cards, escape, figure, grid, notes, number, page, table
from flows.core.types import LOWER_IS_BETTER, beats

CALIBRATION_BINS = 10


@dataclass(frozen=True)
class RunFacts:
    """What the report is drawn from, as the catalog and the artifact directory hold it."""

    run: dict[str, Any]
    """The run's row of Catalog.list_runs."""
    evaluations: pl.DataFrame
    trials: pl.DataFrame
    stages: pl.DataFrame
    card: ModelCard
    held_out: pl.DataFrame | None
    profile: dict[str, Any] | None
    data_report: str | None = None
    slices: pl.DataFrame | None = None
    """Catalog.slice_results of the run, when it was sliced."""


def run_report_html(facts: RunFacts) -> str:
    run, card = facts.run, facts.card
    sections = [("summary", "Summary", _summary(facts)),
                ("metrics", "Metrics on the test rows", _metrics(facts))]
    if facts.held_out is not None:
        sections.append(("curves", "Test-set charts", _curves(facts)))
    if facts.slices is not None and not facts.slices.is_empty():
        sections.append(("slices", "Slices", _slices(facts.slices, run["main_metric"])))
    sections += [("leaderboard", "Leaderboard", _leaderboard(card)),
                 ("importance", "Feature importance", _importance(card)),
                 ("search", "Portfolio and tuner", _search(facts.trials)),
                 ("resources", "Time, CPU and memory per stage", _resources(facts.stages))]
    if facts.profile is not None:
        sections += sections_for_run(facts.profile)
    return page(f"Run report · {run['dataset']} · {run['run_id']}",
                f"target {run['target']} · {run['task']} · model {run['model_version']}",
                sections)


def _summary(facts: RunFacts) -> str:
    run, card = facts.run, facts.card
    metric = run["main_metric"]
    model, baseline = run.get("model_score"), _best_baseline(facts.evaluations, metric)
    better = _is_better(metric, model, baseline)
    verdict = "-" if better is None else ("beats" if better else "does not beat")
    link = f'<p>Data report: <a href="{escape(facts.data_report)}">' \
           f"{escape(facts.data_report)}</a></p>" if facts.data_report else ""
    return cards([
        ("model", run.get("learner") or "-"),
        (f"{metric} (test)", number(model)),
        (f"best baseline {metric}", number(baseline)),
        ("against the baseline", verdict),
        ("duration", f"{run.get('duration_s') or 0:.1f} s of {run.get('budget_s') or 0:.0f} s"),
        ("trials", f"{facts.trials.height:,}"),
        ("training / test rows", f"{card.training_rows or 0:,} / {card.test_rows or 0:,}"),
        ("integration", card.integration.kind if card.integration else "-"),
    ]) + link + notes(_validation_notes(card))


def _validation_notes(card: ModelCard) -> list[str]:
    found = [f"{label}: {value}" for value, label in (
        (card.validation, "candidates judged on"), (card.search_metric, "optimised metric"))
        if value]
    if card.training is not None:
        found += [f"not fitted: {s.name} ({s.reason})" for s in card.training.skipped]
        if card.training.stopped_early:
            found.append(f"portfolio stopped early: {card.training.stopped_early}")
    return found


def _metrics(facts: RunFacts) -> str:
    frame = facts.evaluations
    if frame.is_empty():
        return "<p class=muted>No evaluation stored.</p>"
    roles = sorted(set(frame["role"].to_list()), key=lambda r: (r != "model", r))
    values = {(r["role"], r["metric"]): r["value"] for r in frame.iter_rows(named=True)}
    intervals = facts.card.intervals
    rows = []
    for metric in sorted(set(frame["metric"].to_list())):
        baselines = [values.get((r, metric)) for r in roles if r != "model"]
        best = _best(metric, [b for b in baselines if b is not None])
        better = _is_better(metric, values.get(("model", metric)), best)
        mark = "" if better is None else ("good" if better else "bad")
        interval = intervals.get(metric)
        rows.append([metric, Markup(f'<span class="{mark}">'
                                    f"{escape(number(values.get(('model', metric))))}</span>"),
                     f"{number(interval[0])} – {number(interval[1])}" if interval else "-",
                     *[values.get((r, metric)) for r in roles if r != "model"]])
    headers = ["metric", "model", "95% interval (bootstrap)",
               *[r for r in roles if r != "model"]]
    return table(headers, rows, [False] + [True] * (len(headers) - 1)) + notes(
        ["green: the model beats every baseline on this metric; red: it does not"])


def _curves(facts: RunFacts) -> str:
    held_out = facts.held_out
    assert held_out is not None
    task = facts.run["task"]
    if task == "regression":
        return _regression_charts(held_out)
    return _classification_charts(held_out, task)


def _classification_charts(held_out: pl.DataFrame, task: str) -> str:
    truth = held_out["y_true"].cast(pl.String).to_numpy()
    classes = [c.split(":", 1)[1] for c in held_out.columns if c.startswith("model:")]
    proba = held_out.select([f"model:{c}" for c in classes]).to_numpy()
    predicted = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    counts = confusion_matrix(truth, predicted, labels=classes)
    parts = [figure(charts.confusion_matrix(classes, counts.tolist(), "Confusion matrix"),
                    "rows: true class, columns: predicted class")]
    positive = classes[-1] if task == "binary" else None
    roles = sorted({c.split(":", 1)[0] for c in held_out.columns if ":" in c},
                   key=lambda r: (r != "model", r))
    if positive is not None:
        is_positive = truth == positive
        roc, pr = {}, {}
        for role in roles:
            score = held_out[f"{role}:{positive}"].to_numpy()
            fpr, tpr, _ = roc_curve(is_positive, score)
            precision, recall, _ = precision_recall_curve(is_positive, score)
            roc[role], pr[role] = (fpr.tolist(), tpr.tolist()), (recall.tolist(),
                                                                  precision.tolist())
        parts.append(figure(charts.lines(roc, "ROC curve", "false positive rate",
                                         "true positive rate", diagonal=True)))
        parts.append(figure(charts.lines(pr, f"Precision-recall (positive: {positive})",
                                         "recall", "precision")))
        observed, expected = calibration_curve(is_positive, held_out[f"model:{positive}"],
                                               n_bins=CALIBRATION_BINS, strategy="quantile")
        parts.append(figure(charts.lines({"model": (expected.tolist(), observed.tolist())},
                                         "Calibration", "predicted probability",
                                         "observed frequency", diagonal=True),
                            "on the diagonal: predicted probabilities mean what they say"))
    else:
        roc = {}
        for index, label in enumerate(classes):
            fpr, tpr, _ = roc_curve(truth == label, proba[:, index])
            roc[label] = (fpr.tolist(), tpr.tolist())
        parts.append(figure(charts.lines(roc, "ROC curve per class (one against the rest)",
                                         "false positive rate", "true positive rate",
                                         diagonal=True)))
    return grid(parts)


def _regression_charts(held_out: pl.DataFrame) -> str:
    truth = held_out["y_true"].cast(pl.Float64).to_numpy()
    predicted = held_out["model"].to_numpy()
    residuals = truth - predicted
    edges = np.histogram_bin_edges(residuals, bins=30)
    counts, _ = np.histogram(residuals, bins=edges)
    return grid([
        figure(charts.scatter(predicted.tolist(), truth.tolist(), "Predicted against actual",
                              "predicted", "actual")),
        figure(charts.scatter(predicted.tolist(), residuals.tolist(), "Residuals",
                              "predicted", "actual - predicted", horizontal_line=0.0)),
        figure(charts.histogram(edges.tolist(), counts.tolist(), "Residual distribution",
                                x_label="actual - predicted")),
    ])


def _slices(slices: pl.DataFrame, metric: str) -> str:
    """Each slice's own model against the global model, on the slice's held-out rows."""
    rows, names, gains = [], [], []
    for row in slices.iter_rows(named=True):
        metrics = json.loads(row["metrics"]) if row["metrics"] else {}
        own, shared = metrics.get("slice", {}).get(metric), metrics.get("global", {}).get(metric)
        served = "own model" if row["champion_version"] == row["model_version"] else "global"
        rows.append([row["slice"], own, shared, served, row["reason"] or "-"])
        if own is not None and shared is not None:
            names.append(row["slice"])
            gains.append(own - shared if _higher_is_better(metric) else shared - own)
    parts = [table(["slice", f"own model {metric}", f"global model {metric}", "served by",
                    "note"], rows, [False, True, True, False, False])]
    if names:
        parts.append(figure(charts.bars(names, gains, "Gain of each slice's own model",
                                        value_label=f"{metric}: own minus global (better > 0)"),
                            "measured on each slice's held-out rows, which neither model saw"))
    return grid(parts)


def _leaderboard(card: ModelCard) -> str:
    integration = card.integration
    if integration is None or not integration.candidates:
        return "<p class=muted>No candidates recorded.</p>"
    losses = integration.validation_loss
    weights = dict(zip(integration.members, integration.weights or [1.0], strict=False))
    rows = sorted(([name, c.learner, c.origin, c.validation_loss, c.fit_s,
                    _fold_rounds(c.fold_rounds), c.one_row_ms,
                    weights.get(name)]
                   for name, c in integration.candidates.items()),
                  key=lambda row: (row[3] is None, row[3] or 0.0))
    rows += [[kind, f"{kind} of the best", "", losses[kind], None, "",
              integration.latency_ms_1_row.get(kind), None]
             for kind in ("blend", "stack") if kind in losses]
    chosen = f"<p>Chosen: <b>{escape(integration.kind)}</b> of " \
             f"{escape(', '.join(integration.members))}" \
             f"{' · ' + escape(integration.reason) if integration.reason else ''}</p>"
    return chosen + table(
        ["candidate", "learner", "origin",
         f"out-of-fold {card.search_metric or 'loss'} (lower is better)", "fit s",
         "rounds per fold", "1-row latency ms", "ensemble weight"],
        rows, [False, False, False, True, True, False, True, True])


def _fold_rounds(rounds: list[int]) -> str:
    """Trees per fold model, as a range (none for learners without rounds)."""
    if not rounds or not any(rounds):
        return ""
    return str(min(rounds)) if min(rounds) == max(rounds) else f"{min(rounds)}–{max(rounds)}"



def _importance(card: ModelCard) -> str:
    importance = card.permutation_importance
    if not importance:
        return "<p class=muted>No importance computed.</p>"
    ranked = sorted(importance.items(), key=lambda item: -item[1])[:30]
    return figure(charts.bars([name for name, _ in ranked], [value for _, value in ranked],
                              "Permutation importance", value_label="metric lost when shuffled"),
                  "how much the test metric drops when a column's values are shuffled")


def _search(trials: pl.DataFrame) -> str:
    if trials.is_empty() or trials["val_loss"].drop_nulls().is_empty():
        return "<p class=muted>No trials recorded.</p>"
    done = trials.filter(pl.col("val_loss").is_not_null()).sort("wall_clock_s")
    times, losses = done["wall_clock_s"].to_numpy(), done["val_loss"].to_numpy()
    best = np.minimum.accumulate(losses)
    per_learner = done.group_by("learner").agg(
        pl.len().alias("trials"), pl.col("val_loss").min().alias("best"),
        pl.col("trial_time_s").sum().alias("seconds")).sort("best")
    return grid([
        figure(charts.steps(times.tolist(), best.tolist(), "Best out-of-fold loss over the run",
                            "seconds into the run", "out-of-fold loss",
                            points_x=times.tolist(), points_y=losses.tolist()),
               "line: best so far; dots: each bagged configuration, then each tuner trial"),
        table(["learner", "trials", "best loss", "seconds"],
              per_learner.rows(), [False, True, True, True]),
    ])


def _resources(stages: pl.DataFrame) -> str:
    if stages.is_empty():
        return "<p class=muted>No stage measured.</p>"
    names = stages["stage"].to_list()
    return grid([
        figure(charts.bars(names, stages["wall_s"].to_list(), "Wall time",
                           value_label="seconds")),
        figure(charts.bars(names, stages["cpu_s"].to_list(), "CPU time",
                           value_label="CPU seconds (2 cores: up to 2 per second)")),
        figure(charts.bars(names, stages["peak_rss_mb"].to_list(), "Peak memory",
                           value_label="MB resident")),
        table(["stage", "wall s", "CPU s", "peak MB"],
              stages.select("stage", "wall_s", "cpu_s", "peak_rss_mb").rows(),
              [False, True, True, True]),
    ])


def _best_baseline(evaluations: pl.DataFrame, metric: str) -> float | None:
    values = evaluations.filter((pl.col("role") != "model") & (pl.col("metric") == metric))
    return _best(metric, values["value"].to_list())


def _best(metric: str, values: list[float]) -> float | None:
    if not values:
        return None
    return max(values) if _higher_is_better(metric) else min(values)


def _is_better(metric: str, model: float | None, baseline: float | None) -> bool | None:
    if model is None or baseline is None:
        return None
    return beats(metric, model, baseline)


def _higher_is_better(metric: str) -> bool:
    return metric not in LOWER_IS_BETTER
