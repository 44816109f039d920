"""What a run and an ingest print: the model against its baselines, the candidates, the
slices, the stages' resources, and the ingest report's columns."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from flows.cli.analysis import print_alerts
from flows.cli.console import fmt, out
from flows.core.data.cleaning import duplicates_note
from flows.core.records.run import RunSummary
from flows.core.types import LOWER_IS_BETTER, beats


def print_ingest_report(report: dict[str, Any]) -> None:
    table = Table("column", "type", "missing", "typed from text", "distinct", "note",
                  title=f"Ingest report · {report['rows_read']} rows read, "
                        f"{duplicates_note(report)}")
    for column in report["columns"]:
        table.add_row(column["name"], column["dtype"], str(column["missing"]),
                      column["inferred_from_text"] or "",
                      f"~{column['distinct']}", column["flag"] or "")
    out.print(table)
    tokens = ", ".join(repr(t) for t in report.get("missing_tokens", []))
    out.print(f"[dim]missing counts include the values read as missing: {tokens}[/]")


def print_summary(summary: RunSummary) -> None:
    baselines = summary.baselines
    table = Table("metric", f"model ({summary.learner})",
                  *(f"{role} ({b.learner})" for role, b in baselines.items()),
                  title=f"Run {summary.run_id} · {summary.dataset} · {summary.task} "
                        f"· target {summary.target}")
    for metric, value in summary.metrics.items():
        style = "bold" if metric == summary.main_metric else ""
        table.add_row(metric, fmt(value),
                      *(fmt(b.metrics.get(metric)) for b in baselines.values()), style=style)
    out.print(table)
    stages = Table("stage", "wall s", "cpu s", "peak MB", title="Resources")
    for stage in summary.stages:
        stages.add_row(stage.stage, fmt(stage.wall_s, 2), fmt(stage.cpu_s, 2),
                       fmt(stage.peak_rss_mb, 0))
    out.print(stages)
    if summary.training_rows_before_cap:
        out.print(f"[yellow]sampled[/] baselines and search trained on {summary.training_rows}"
                  f" of {summary.training_rows_before_cap} training rows (stratified; cap "
                  "AUTOPIPE_SEARCH__MAX_ROWS); the test part was used whole")
    balance = summary.class_balance
    if balance and balance.weighted:
        out.print(f"[yellow]imbalanced[/] class {balance.minority_class!r} is "
                  f"{balance.minority_share:.1%} of the training rows; the search used "
                  "balanced class weights")
    if summary.duplicates_dropped:
        out.print(f"[yellow]dropped[/] {summary.duplicates_dropped} exact duplicate rows")
    if summary.duplicates_kept:
        out.print(f"[yellow]kept[/] {summary.duplicates_kept} rows that exactly repeat "
                  "another: no column identifies records, so they count as observations")
    if summary.dropped_single_row_classes:
        out.print(f"[yellow]dropped[/] the rows of classes seen only once: "
                  f"{', '.join(summary.dropped_single_row_classes)}")
    if summary.dropped_missing_target:
        out.print(f"[yellow]dropped[/] {summary.dropped_missing_target} rows without a "
                  f"value in {summary.target!r}")
    _print_candidates(summary)
    for role, better in _baselines_ahead(summary):
        out.print(f"[yellow]note[/] {role} scores better on the held-out part "
                  f"({summary.main_metric} {better:.4f}); a longer --budget may help")
    for excluded in summary.excluded_columns:
        out.print(f"[yellow]excluded[/] {excluded.column}: {excluded.reason}")
    _print_slices(summary)
    print_alerts([alert.model_dump() for alert in summary.data_alerts])
    out.print(f"Model [bold]{summary.model_version}[/] registered "
              f"({summary.trials} trials). Serve it: autopipe serve")
    out.print(f"Report: [link=file://{summary.report}]{summary.report}[/]")


def _print_candidates(summary: RunSummary) -> None:
    """The portfolio as fitted: each candidate's out-of-fold loss, cost and ensemble weight;
    what was skipped and why; what was chosen."""
    integration, training = summary.integration, summary.training
    weights = dict(zip(integration.members, integration.weights or [1.0], strict=False))
    table = Table("candidate", "origin", f"out-of-fold {summary.search_metric}", "fit s",
                  "rounds per fold", "1-row ms", "weight",
                  title=f"Candidates ({training.folds})")
    for fit in training.portfolio:
        rounds = fit.fold_rounds
        table.add_row(fit.name, fit.origin, fmt(integration.validation_loss.get(fit.name)),
                      fmt(fit.fit_s, 1), f"{min(rounds)}-{max(rounds)}" if any(rounds) else "–",
                      fmt(fit.latency_ms_1_row, 2), fmt(weights.get(fit.name), 3))
    out.print(table)
    for skipped in training.skipped:
        out.print(f"[dim]skipped {skipped.name}: {skipped.reason}[/]")
    if training.stopped_early:
        out.print(f"[dim]portfolio stopped early: {training.stopped_early}[/]")
    out.print(f"[green]chose[/] {integration.kind} of {', '.join(integration.members)}: "
              f"{integration.reason} (metric {summary.search_metric})")


def _print_slices(summary: RunSummary) -> None:
    """Per slice: its model against the global model on the slice's held-out rows."""
    if not summary.slices:
        return
    metric = summary.main_metric
    table = Table("slice", f"own model {metric}", f"global model {metric}", "served by",
                  title="Slices (test rows of each slice)")
    for result in summary.slices:
        served = "own model" if result.champion_version == result.model_version \
            else "global model"
        table.add_row(result.slice, fmt(result.metrics.get("slice", {}).get(metric)),
                      fmt(result.metrics.get("global", {}).get(metric)),
                      served if not result.reason else f"global model ({result.reason})")
    out.print(table)
    for result in summary.slices:
        for breach in result.breaches:
            out.print(f"[bold red]policy breach[/] {result.slice} ({result.policy}): "
                      f"{breach['message']}; its model is not promoted")


def _baselines_ahead(summary: RunSummary) -> list[tuple[str, float]]:
    """Baselines that beat the searched model on the run's main metric."""
    metric = summary.main_metric
    model = summary.metrics.get(metric)
    ahead = []
    for role, baseline in summary.baselines.items():
        value = baseline.metrics.get(metric)
        if model is not None and value is not None and beats(metric, value, model):
            ahead.append((role, value))
    return ahead


def best_baseline(row: dict[str, Any]) -> float | None:
    """The better baseline's score in a row of the runs table."""
    lower_is_better = row["main_metric"] in LOWER_IS_BETTER
    return row["baseline_min"] if lower_is_better else row["baseline_max"]
