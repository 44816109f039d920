"""One service module and one ASGI app per session: BentoML registers its Prometheus metrics
in a process-wide registry when an app first serves, so a second app in the same process
fails with duplicated timeseries."""

from __future__ import annotations

import os
from typing import Any

import pytest

from flows.core.records.run import RunSummary


@pytest.fixture(scope="session")
def service_module(trained: dict[str, RunSummary],
                   tmp_path_factory: pytest.TempPathFactory) -> Any:
    """bentos.service serving the binary sample's release."""
    os.environ["AUTOPIPE_RELEASE"] = trained["binary"].release
    # `bentoml serve` sets this for its workers; the in-process app's /metrics needs it too.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path_factory.mktemp("prometheus"))
    import bentos.service  # the service reads its release when the app starts it

    return bentos.service


@pytest.fixture(scope="session")
def service_app(service_module: Any) -> Any:
    return service_module.Autopipe.to_asgi()
