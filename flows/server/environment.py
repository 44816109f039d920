"""Environment for the tools autopipe drives, set before they are imported.

Prefect and BentoML read their homes and telemetry switches from the environment at import
time, so every entry point (CLI, tests, benchmarks) calls :func:`apply` first. Values the user
has already set are kept.
"""

from __future__ import annotations

import os

from flows.core.config import Settings


def tool_environment(settings: Settings) -> dict[str, str]:
    """The variables autopipe wants for Prefect and BentoML under this home."""
    return {
        "AUTOPIPE_HOME": str(settings.root),
        "PREFECT_HOME": str(settings.prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "BENTOML_DO_NOT_TRACK": "True",
        "BENTOML_HOME": str(settings.bentoml_home),
    }


def apply(settings: Settings) -> None:
    for name, value in tool_environment(settings).items():
        os.environ.setdefault(name, value)
