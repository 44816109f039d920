"""Which served predictions a person should look at, most urgent first.

Four reasons, by priority: the prediction's model and slice has an open alert (drifted
slices first), the classifier was unsure (top probability below a threshold), or a stable
random draw picked it for quality control. Each refresh adds at most a batch, so a busy
service cannot bury the reviewer.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from flows.core.config import FeedbackSettings
from flows.core.data.labels import class_index
from flows.core.errors import AutopipeError
from flows.core.evaluation.explain import Explanation, contributions
from flows.core.registry.model import FittedModel
from flows.core.store.feedback import QueueItem

DRIFT_KINDS = ("drift", "prediction_drift")
PRIORITY = {"drifted slice": 4.0, "alert": 3.0, "low confidence": 2.0, "quality sample": 1.0}


def review_candidates(traffic: pl.DataFrame, open_alerts: pl.DataFrame,
                      settings: FeedbackSettings) -> list[QueueItem]:
    """Queue entries for unreviewed predictions (``traffic``: newest first, with confidence
    and draw) given the open alerts; one entry per prediction, under its strongest reason."""
    chosen: dict[tuple[str, int], QueueItem] = {}

    def offer(item: QueueItem) -> None:
        key = (item.request_id, item.index)
        if key not in chosen or chosen[key].priority < item.priority:
            chosen[key] = item

    for alert in open_alerts.filter(pl.col("model_version").is_not_null()).iter_rows(
            named=True):
        reason = "drifted slice" if alert["kind"] in DRIFT_KINDS else "alert"
        group = traffic.filter(model_version=alert["model_version"])
        if alert["slice"] is not None:
            group = group.filter(slice=alert["slice"])
        for row in group.head(settings.per_alert).iter_rows(named=True):
            offer(_item(row, reason, alert["alert_id"]))
    unsure = traffic.filter(pl.col("confidence") < settings.confidence_below)
    for row in unsure.iter_rows(named=True):
        offer(_item(row, "low confidence"))
    for row in traffic.filter(pl.col("draw") < settings.sample_share).iter_rows(named=True):
        offer(_item(row, "quality sample"))
    ranked = sorted(chosen.values(), key=lambda i: -i.priority)
    return ranked[:settings.max_new_reviews]


def _item(row: dict[str, Any], reason: str, alert_id: str | None = None) -> QueueItem:
    """Within a reason, the less confident prediction ranks higher."""
    confidence = row["confidence"]
    priority = PRIORITY[reason] + (1 - float(confidence) if confidence is not None else 0.0)
    return QueueItem(str(row["request_id"]), int(row["idx"]), reason, priority,
                     float(confidence) if confidence is not None else None, alert_id)


def parse_label(model: FittedModel, text: str) -> Any:
    """A person's label as the model's own type: the class it means (``yes`` for a class
    ``Yes``: see flows/core/data/labels.py), or its number in the listed choices when no class
    name is a number; a number for regression."""
    if not model.task.is_classification:
        try:
            return float(text)
        except ValueError:
            raise AutopipeError(f"{text.strip()!r} is not a number",
                                f"type the true value of {model.target!r}") from None
    names = model.class_names
    chosen = class_index(text, model.classes)
    if chosen is None:
        chosen = _choice_number(text.strip(), names)
    if chosen is None:
        raise AutopipeError(f"{text.strip()!r} is not a class of {model.target!r}",
                            f"choose one of: {', '.join(names)}")
    value = model.classes[chosen]
    return value.item() if hasattr(value, "item") else value


def numbered_choices(class_names: list[str]) -> bool:
    """Whether classes may be chosen by number: not when a class name is itself one."""
    return not any(name.strip().lstrip("-").isdigit() for name in class_names)


def _choice_number(text: str, class_names: list[str]) -> int | None:
    """The class position a typed choice number stands for, if it is one."""
    if numbered_choices(class_names) and text.isdigit() and 1 <= int(text) <= len(class_names):
        return int(text) - 1
    return None


def explain_entry(model: FittedModel, features_json: str) -> Explanation:
    """Why the model answered a queued record as it did: its additive contributions."""
    record = model.frame_from_records([json.loads(features_json)])
    return contributions(model, record, model.reference_row)[0]
