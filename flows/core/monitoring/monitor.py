"""Monitoring: ingest the service's prediction logs, measure drift per model and slice
against the model's training reference, and raise alerts a person can triage.

The service writes logs and never opens the catalog; this reads the log files into the
catalog (idempotently), then compares each model's recent inputs, and its predictions, with
the training rows saved beside the model (``reference.parquet``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from flows.core.config import FeedbackSettings, Settings
from flows.core.data.labels import as_class
from flows.core.monitoring.drift import FeatureDrift, Thresholds, feature_drift, psi
from flows.core.monitoring.feedback import LivePerformance, live_performance, performance_alert
from flows.core.monitoring.input_quality import QualityIssue, latency_percentiles, quality_issues
from flows.core.monitoring.review import review_candidates
from flows.core.registry.artifacts import read_reference
from flows.core.registry.model import FittedModel, load_model
from flows.core.serving.prediction_log import logged_files, read_rejections
from flows.core.store.catalog import Catalog
from flows.core.store.feedback import LabelRow
from flows.core.types import Alert

MIN_REQUESTS = 20
"""Requests in the window before error rate and latency are judged."""
_model = functools.lru_cache(maxsize=32)(load_model)
"""A registered artifact never changes: load each once per process."""


@dataclass(frozen=True)
class GroupDrift:
    """One model version on one slice: its live rows, their drift and anomalies."""

    model_version: str
    slice: str
    rows: int
    features: list[FeatureDrift]
    prediction_psi: float | None
    quality: list[QualityIssue] = field(default_factory=list)


@dataclass(frozen=True)
class ServiceHealth:
    """Requests answered and refused over the window, and the answered ones' latency."""

    answered: int
    rejected: int
    latency_ms: dict[str, float]

    @property
    def rejected_rate(self) -> float:
        total = self.answered + self.rejected
        return self.rejected / total if total else 0.0


@dataclass
class MonitorResult:
    ingested: int
    health: ServiceHealth
    groups: list[GroupDrift] = field(default_factory=list)
    performance: list[LivePerformance] = field(default_factory=list)
    alert_ids: list[str] = field(default_factory=list)
    queued: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"ingested": self.ingested, "alert_ids": self.alert_ids, "queued": self.queued,
                "performance": [vars(p) | {"loss": p.loss} for p in self.performance],
                "service": vars(self.health) | {"rejected_rate": self.health.rejected_rate},
                "groups": [
                    {"model_version": g.model_version, "slice": g.slice, "rows": g.rows,
                     "prediction_psi": g.prediction_psi,
                     "features": [vars(f) for f in g.features],
                     "quality": [vars(q) for q in g.quality]} for g in self.groups]}


def monitor_home(settings: Settings, hours: float | None) -> MonitorResult:
    """``run_monitor`` over a home's catalog and service logs, with its configured limits,
    on the last ``hours`` of traffic (all of it when None)."""
    limits = settings.monitor
    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=hours) if hours else None
    return run_monitor(Catalog(settings.catalog_path), settings.prediction_logs_dir,
                       Thresholds(limits.psi, limits.p_value, limits.min_rows,
                                  limits.rejected_rate, limits.latency_p99_ms),
                       since, settings.feedback)


def run_monitor(catalog: Catalog, logs_dir: Path, thresholds: Thresholds,
                since: datetime | None = None,
                feedback: FeedbackSettings | None = None) -> MonitorResult:
    """Ingest new log records, check every (model, slice) with live rows since ``since``
    (all when None) for drift, and with true labels for performance; raise the alerts, then
    queue what a person should review."""
    feedback = feedback or FeedbackSettings()
    ingested = ingest_logs(catalog, logs_dir)
    traffic = catalog.logged_traffic(since)
    health = service_health(traffic, logs_dir, since)
    result = MonitorResult(ingested, health)
    alerts: list[Alert] = _health_alerts(health, thresholds)
    for (version, slice_name), rows in traffic.group_by(["model_version", "slice"],
                                                         maintain_order=True):
        group = _group_drift(catalog, str(version), str(slice_name), rows, thresholds)
        if group is None:
            continue
        result.groups.append(group)
        alerts += _alerts(group, thresholds)
    result.performance = check_performance(catalog)
    alerts += [alert for p in result.performance
               if (alert := performance_alert(p, feedback.min_labels, feedback.performance_drop))]
    result.alert_ids = catalog.raise_alerts(alerts) if alerts else []
    result.queued = refresh_review_queue(catalog, feedback)
    return result


def ingest_logs(catalog: Catalog, logs_dir: Path) -> int:
    """Read the service's prediction log files into the catalog; how many rows were new."""
    files = logged_files(logs_dir)
    return catalog.ingest_prediction_logs(files)


def refresh_review_queue(catalog: Catalog, feedback: FeedbackSettings) -> int:
    """Queue the ingested predictions a person should review; how many were added."""
    open_alerts = catalog.alerts().filter(pl.col("status") != "resolved")
    return catalog.enqueue_reviews(
        review_candidates(catalog.unreviewed(), open_alerts, feedback))


def as_predicted_classes(catalog: Catalog, rows: list[LabelRow]) -> list[LabelRow]:
    """Each label as the class it means of the model that made its prediction (a file's
    ``yes`` or ``true`` for a class written ``Yes``), so that it compares with what was
    predicted; labels of predictions never logged stay as given (they are not stored)."""
    versions = catalog.logged_versions([(r.request_id, r.index) for r in rows])
    classes = {version: _model(catalog.model(version).artifact_path).classes
               for version in set(versions.values())}
    return [replace(row, label=as_class(row.label, classes[version]))
            if (version := versions.get((row.request_id, row.index))) else row
            for row in rows]


def check_performance(catalog: Catalog) -> list[LivePerformance]:
    """Each (model, slice) with labelled predictions, against the model's test metrics."""
    labelled = catalog.labelled_predictions()
    found = []
    for (version, slice_name), rows in labelled.group_by(["model_version", "slice"],
                                                          maintain_order=True):
        record = catalog.model(str(version))
        found.append(live_performance(_model(record.artifact_path), record.metrics,
                                      str(slice_name), rows))
    return found


def _group_drift(catalog: Catalog, version: str, slice_name: str, rows: pl.DataFrame,
                 thresholds: Thresholds) -> GroupDrift | None:
    artifact = Path(catalog.model(version).artifact_path)
    reference = read_reference(artifact)
    if reference is None:
        return None
    model = _model(artifact)
    current = model.validate_frame(
        pd.DataFrame([json.loads(f) for f in rows["features"].to_list()]))  # as served
    drifts = feature_drift(reference, current, model.input_schema, thresholds)
    predictions = [json.loads(r)["prediction"] for r in rows["result"].to_list()]
    return GroupDrift(version, slice_name, rows.height, drifts,
                      _prediction_psi(model, reference, predictions)
                      if rows.height >= thresholds.min_rows else None,
                      quality_issues(reference, current, model.input_schema,
                                     thresholds.min_rows))


def service_health(traffic: pl.DataFrame, logs_dir: Path,
                   since: datetime | None) -> ServiceHealth:
    """Answered requests and their latency from the ingested log; refused requests from the
    service's rejection files, over the same window."""
    answered = traffic.unique("request_id") if traffic.height else traffic
    rejected = sum(since is None or refused.at.replace(tzinfo=None) >= since
                   for refused in read_rejections(logs_dir))
    latencies = answered["latency_ms"].to_numpy() if answered.height else np.array([])
    return ServiceHealth(answered.height, rejected, latency_percentiles(latencies))


def _health_alerts(health: ServiceHealth, thresholds: Thresholds) -> list[Alert]:
    found = []
    requests = health.answered + health.rejected
    if requests >= MIN_REQUESTS and health.rejected_rate > thresholds.rejected_rate:
        found.append(Alert(kind="rejected_requests", severity="warning",
                           statistic="rejected_rate", value=health.rejected_rate,
                           threshold=thresholds.rejected_rate,
                           message=f"{health.rejected} of {requests} requests were refused "
                                   f"({health.rejected_rate:.0%})"))
    p99 = health.latency_ms.get("p99")
    if requests >= MIN_REQUESTS and p99 is not None and p99 > thresholds.latency_p99_ms:
        found.append(Alert(kind="latency", severity="warning", statistic="p99_ms", value=p99,
                           threshold=thresholds.latency_p99_ms,
                           message=f"p99 latency {p99:.0f} ms over {health.answered} "
                                   f"answered requests"))
    return found


def _prediction_psi(model: FittedModel, reference: pd.DataFrame,
                    live: list[Any]) -> float | None:
    """PSI of the predictions: classes by share, values over reference quantile bins."""
    expected = model.predict_frame(model.validate_frame(reference))["prediction"].to_numpy()
    if model.task.is_classification:
        labels = [str(c) for c in model.classes]
        ref = np.array([np.mean(expected.astype(str) == c) for c in labels])
        cur = np.array([np.mean(np.array(live, dtype=str) == c) for c in labels])
        return psi(ref, cur)
    edges = np.unique(np.quantile(expected.astype(float), np.linspace(0, 1, 11)))[1:-1]
    live_values = np.asarray(live, dtype=float)
    ref = np.bincount(np.searchsorted(edges, expected.astype(float)), minlength=len(edges) + 1)
    cur = np.bincount(np.searchsorted(edges, live_values), minlength=len(edges) + 1)
    return psi(ref / max(ref.sum(), 1), cur / max(cur.sum(), 1))


def _alerts(group: GroupDrift, thresholds: Thresholds) -> list[Alert]:
    found = [Alert(kind="drift", severity="warning", model_version=group.model_version,
                   slice=group.slice, feature=d.feature, statistic="psi", value=d.psi,
                   threshold=thresholds.psi,
                   message=f"{d.feature!r} drifted on {group.slice} ({group.rows} live rows): "
                           f"PSI {d.psi:.3f}"
                           + (f", {d.test} p={d.p_value:.2g}" if d.p_value is not None else ""))
             for d in group.features if d.drifted]
    found += [Alert(kind=issue.kind, severity="warning", model_version=group.model_version,
                    slice=group.slice, feature=issue.feature, statistic="share",
                    value=issue.value, threshold=issue.threshold,
                    message=f"{issue.message} ({group.slice})") for issue in group.quality]
    if group.prediction_psi is not None and group.prediction_psi > thresholds.psi:
        found.append(Alert(kind="prediction_drift", severity="warning",
                           model_version=group.model_version, slice=group.slice,
                           statistic="psi", value=group.prediction_psi,
                           threshold=thresholds.psi,
                           message=f"predictions on {group.slice} shifted: PSI "
                                   f"{group.prediction_psi:.3f}"))
    return found
