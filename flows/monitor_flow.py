"""The ``monitor`` flow: what ``autopipe monitor`` does, as a Prefect flow a deployment runs
on a schedule (prefect.yaml): ingest the service's logs, check drift, data quality, service
health and live performance, raise alerts, refill the review queue."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.core.config import Settings
from flows.core.monitoring.monitor import monitor_home


@flow(name="monitor")
def monitor(hours: float | None = None) -> dict[str, Any]:
    """Check the last ``hours`` of traffic (all logged traffic when None)."""
    return monitor_home(Settings(), hours).as_dict()
