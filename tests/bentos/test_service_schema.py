"""Property-based requests generated from the service's own OpenAPI schema never get a 5xx."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error


@pytest.fixture(scope="module")
def service_schema(trained: dict[str, dict[str, Any]],
                   tmp_path_factory: pytest.TempPathFactory) -> Any:
    os.environ["AUTOPIPE_RELEASE"] = trained["binary"]["release"]
    # `bentoml serve` sets this for its workers; the in-process app's /metrics needs it too.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path_factory.mktemp("prometheus"))
    import importlib

    import bentos.service

    service = importlib.reload(bentos.service)
    return schemathesis.openapi.from_asgi("/docs.json", service.Autopipe.to_asgi())


schema = schemathesis.pytest.from_fixture("service_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_no_generated_request_gets_a_server_error(case: Any) -> None:
    case.call_and_validate(checks=[not_a_server_error])
