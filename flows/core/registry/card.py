"""The model card: what a registered model is, how good it is, and where it should not be used.

A point metric on one held-out part hides how much it could move on other rows, so every metric
of the model comes with a bootstrap 95% interval over the held-out rows. The card is plain
Markdown built from the run's typed card (records/card.py), which reads older cards too.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from flows.core.evaluation.metrics import MAIN_METRIC, classification_metrics, regression_metrics
from flows.core.records.card import ModelCard
from flows.core.records.run import ExcludedColumn, Metrics
from flows.core.types import LOWER_IS_BETTER, Task

TOP_FEATURES = 15
BASELINE_NAMES = {"baseline_linear": "linear baseline (scikit-learn defaults)",
                  "baseline_hgb": "histogram gradient boosting baseline (scikit-learn defaults)"}


def bootstrap_intervals(y_true: np.ndarray, predicted_or_proba: np.ndarray, task: Task,
                        seed: int, resamples: int = 200) -> dict[str, tuple[float, float]]:
    """95% percentile intervals of each held-out metric, resampling the held-out rows with
    replacement. A resample on which a metric is undefined (AUROC with one class) does not
    count for that metric."""
    y_true, output = np.asarray(y_true), np.asarray(predicted_or_proba)
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a resample may miss a class: that is expected
        for _ in range(resamples):
            rows = rng.integers(0, len(y_true), size=len(y_true))
            for name, value in _metrics(y_true[rows], output[rows], task).items():
                if np.isfinite(value):
                    samples.setdefault(name, []).append(value)
    return {name: (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
            for name, values in samples.items()}


def _metrics(y_true: np.ndarray, output: np.ndarray, task: Task) -> dict[str, float]:
    try:
        if task.is_classification:
            return classification_metrics(y_true, output, task)
        return regression_metrics(y_true, output)
    except ValueError:
        return {}


def model_card_markdown(card: ModelCard) -> str:
    """The model card as Markdown: model, intended use and limitations, data, metrics with
    intervals and baselines, feature importance, and how the registered model was fitted."""
    sections = [
        f"# Model card: {card.version or 'unnamed model'}",
        _model_section(card),
        _use_section(card),
        _data_section(card),
        _metrics_section(card),
        _importance_section(card),
        _fitting_section(card),
    ]
    return "\n\n".join(sections) + "\n"


def _model_section(card: ModelCard) -> str:
    dataset = card.dataset or "unknown"
    if card.dataset_hash:
        dataset = f"{dataset} (content hash `{card.dataset_hash}`)"
    facts = {
        "Version": card.version, "Learner": card.learner,
        "Task": card.task, "Target": card.target, "Dataset": dataset,
        "Run id": card.run_id, "Seed": card.seed,
        "Budget": f"{card.budget_s:g} s" if card.budget_s is not None else None,
        "Created": card.created_at or (card.model_extra or {}).get("created"),
        "Search metric": card.search_metric,
        "Validation": card.validation,
        "Text features": card.text_features,
        "Chosen": _choice(card),
        "Prediction latency": _latency(card.latency_ms),
    }
    return "## Model\n\n" + _bullets(facts)


def _latency(latency: Mapping[str, float] | None) -> str | None:
    if not latency or "1_row" not in latency:
        return None
    return (f"{latency['1_row']:.1f} ms for one row, {latency.get('1000_rows', 0):.0f} ms for "
            "1,000 rows (raw rows through preprocessing and model, one thread)")


def _choice(card: ModelCard) -> str | None:
    """How the registered model was picked: an integration of candidates, or (older cards)
    a selection between the search winner and the baselines."""
    integration, selection = card.integration, card.selection
    if integration is not None and integration.members:
        members = " + ".join(integration.members)
        reason = f": {integration.reason}" if integration.reason else ""
        return f"{integration.kind} of {members}{reason}"
    if selection and selection.get("chosen"):
        method = f" ({selection['method']})" if selection.get("method") else ""
        return f"{selection['chosen']} on {selection.get('metric', 'validation loss')}{method}"
    return None


def _chosen_baseline(card: ModelCard, baselines: Mapping[str, Any]) -> str | None:
    """The baseline registered as the model itself, if one was."""
    chosen = None
    if card.integration is not None and card.integration.kind == "single":
        chosen = next(iter(card.integration.members), None)
    elif card.selection:
        chosen = card.selection.get("chosen")
    return chosen if chosen in baselines else None


def _use_section(card: ModelCard) -> str:
    target, dataset = card.target or "the target", card.dataset or "its dataset"
    lines = [
        f"- Predicts `{target}` for rows of tabular data shaped like `{dataset}`: the same "
        "columns, with values in the ranges and categories seen in training.",
        f"- Trained on `{dataset}` only. It has not been checked on data from other sources, "
        "periods or populations, and it cannot know about conditions absent from those rows.",
        "- The metrics were measured on a held-out part of the rows that training, search and "
        "selection never saw. They estimate performance on new rows drawn the same way, not "
        "after the data drifts.",
        "- It learns associations, not causes: importances and contributions do not say what "
        "would happen if a value were changed.",
    ]
    lines += _exclusion_notes(card.excluded_columns)
    lines += _balance_notes(card)
    return "## Intended use and limitations\n\n" + "\n".join(lines)


def _exclusion_notes(excluded: list[ExcludedColumn]) -> list[str]:
    if not excluded:
        return []
    leaks = [e.column for e in excluded if "leak" in e.reason]
    lines = [f"- {len(excluded)} column(s) were left out of the features (see Data); the "
             "model ignores them when they are sent."]
    if leaks:
        lines.append("- " + ", ".join(f"`{c}`" for c in leaks) + " leaked the target: check "
                     "that what the model does use is known at prediction time.")
    return lines


def _balance_notes(card: ModelCard) -> list[str]:
    lines = []
    balance = card.class_balance
    if balance is not None and balance.counts:
        share, classes = balance.minority_share, len(balance.counts)
        if balance.weighted or share < 0.5 / classes:
            weighted = " Training weighed each class equally." if balance.weighted else ""
            lines.append(f"- Classes are imbalanced: `{balance.minority_class}` is "
                         f"{share:.1%} of the training rows, so accuracy alone flatters "
                         f"the model: weigh AUROC, log loss and F1 too.{weighted}")
    if card.dropped_single_row_classes:
        lines.append("- Never predicted: "
                     + ", ".join(f"`{c}`" for c in card.dropped_single_row_classes)
                     + " (seen in one row only, dropped before training).")
    return lines


def _data_section(card: ModelCard) -> str:
    facts = {
        "Rows in the dataset": card.rows,
        "Training rows": card.training_rows,
        "Training rows before sampling": card.training_rows_before_cap,
        "Held-out rows": card.test_rows,
        "Rows dropped for a missing target": card.dropped_missing_target,
        "Input columns": len(card.input_schema) if card.input_schema else None,
    }
    text = "## Data\n\n" + _bullets(facts)
    if card.excluded_columns:
        rows = [[_cell(e.column), _cell(e.reason)] for e in card.excluded_columns]
        text += "\n\nExcluded columns:\n\n" + _table(["Column", "Reason"], rows)
    else:
        text += "\n\nNo column was excluded."
    return text


def _metrics_section(card: ModelCard) -> str:
    by_role = card.metrics
    model = by_role.get("model", {})
    rows = [[name, _number(value), _interval(card.intervals.get(name))]
            for name, value in model.items()]
    text = "## Metrics\n\nHeld-out metrics of the model, with bootstrap 95% intervals:\n\n"
    text += _table(["Metric", "Value", "95% CI"], rows) if rows else "No metrics recorded."
    baselines = {role: m for role, m in by_role.items() if role != "model"}
    if baselines and model:
        names = list(model)
        table = [[f"model ({card.learner or 'registered'})",
                  *(_number(model.get(n)) for n in names)]]
        table += [[BASELINE_NAMES.get(role, role) + f" `{role}`",
                   *(_number(m.get(n)) for n in names)] for role, m in baselines.items()]
        text += "\n\nAgainst the baselines, on the same held-out rows:\n\n"
        text += _table(["Candidate", *names], table)
    lower = [n for n in model if n in LOWER_IS_BETTER]
    if lower:
        text += f"\n\nLower is better for {', '.join(lower)}; higher is better for the rest."
    lift = _lift(card, model, baselines)
    return text + (f"\n\n{lift}" if lift else "")


def _lift(card: ModelCard, model: Metrics, baselines: Mapping[str, Metrics]) -> str | None:
    """The model against the best baseline on the main metric, signed so + means better."""
    try:
        main = MAIN_METRIC[Task(str(card.task))]
    except ValueError:
        return None
    scored = {role: value for role, m in baselines.items()
              if (value := m.get(main)) is not None}
    mine = model.get(main)
    if mine is None or not scored:
        return None
    lower = main in LOWER_IS_BETTER
    best = (min if lower else max)(scored, key=scored.__getitem__)
    gain = (scored[best] - mine) if lower else (mine - scored[best])
    relative = f" ({abs(gain) / abs(scored[best]):.1%})" if scored[best] else ""
    verdict = "better than" if gain > 0 else "worse than" if gain < 0 else "level with"
    text = (f"Lift on the main metric, {main} ({'lower' if lower else 'higher'} is better): "
            f"{_number(mine)} against {_number(scored[best])} for the best baseline "
            f"`{best}`, {_number(abs(gain))}{relative} {verdict} it.")
    chosen = _chosen_baseline(card, baselines)
    if chosen:
        text += f" `{chosen}` itself was registered: no searched candidate beat it."
    return text


def _importance_section(card: ModelCard) -> str:
    loss = "RMSE" if card.task == Task.REGRESSION.value else "log loss"
    text = (f"## Feature importance\n\nPermutation importance: how much the held-out {loss} "
            "grows when the column's values are shuffled (0 or less: the model does not rely "
            "on it).\n\n")
    text += _ranking(card.permutation_importance, f"Increase in {loss}")
    text += ("\n\nThe learner's own importance, summed over the encoded features each column "
             "produced, as a share of the total (measured on the training rows):\n\n")
    return text + _ranking(card.learner_importance, "Share")


def _ranking(values: Mapping[str, float], header: str) -> str:
    if not values:
        return "Not available for this learner."
    top = sorted(values.items(), key=lambda item: item[1], reverse=True)[:TOP_FEATURES]
    return _table(["Column", header], [[_cell(c), _number(v)] for c, v in top])


def _fitting_section(card: ModelCard) -> str:
    """The portfolio as fitted (each candidate's origin, cost and weight), what was skipped,
    and that the registered model is exactly the evaluated one."""
    note = ("The registered model was trained on the training part only (its fold models, "
            "no refit); the held-out part was used for the metrics above and nothing else.")
    training, integration = card.training, card.integration
    if training is None or integration is None:
        return "## How it was fitted\n\n" + note
    weights = dict(zip(integration.members, integration.weights or [1.0], strict=False))
    losses = integration.validation_loss
    rows = [[_cell(fit.name), _cell(fit.origin), _number(losses.get(fit.name)),
             f"{fit.fit_s:.1f}", _cell(_rounds(fit.fold_rounds)),
             _number(weights.get(fit.name))] for fit in training.portfolio]
    text = (f"## How it was fitted\n\n{note}\n\n{training.folds}.\n\n"
            + _table(["Candidate", "Origin", f"Out-of-fold {card.search_metric or 'loss'}",
                      "Fit s", "Rounds per fold", "Ensemble weight"], rows))
    skipped = [f"- {s.name}: {s.reason}" for s in training.skipped]
    if skipped:
        text += "\n\nNot fitted:\n\n" + "\n".join(skipped)
    return text


def _rounds(rounds: list[int]) -> str:
    return "–" if not any(rounds) else f"{min(rounds)}–{max(rounds)}"


def _bullets(facts: Mapping[str, Any]) -> str:
    return "\n".join(f"- {name}: {value}" for name, value in facts.items()
                     if value is not None and value != "")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def _cell(value: Any) -> str:
    """Table cells cannot hold a bare pipe or a line break."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4f}"


def _interval(bounds: tuple[float, float] | None) -> str:
    return f"{_number(bounds[0])} – {_number(bounds[1])}" if bounds else "–"
