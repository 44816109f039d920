"""Property-based requests generated from the service's own OpenAPI schema never get a 5xx."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error


@pytest.fixture(scope="module")
def service_schema(service_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/docs.json", service_app)


schema = schemathesis.pytest.from_fixture("service_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_no_generated_request_gets_a_server_error(case: Any) -> None:
    case.call_and_validate(checks=[not_a_server_error])
