"""The TUI's catalogs: one filled by a real small run with served traffic (Pilot tests of the
screens' actions), and one built from fixed records (snapshots, which must not change between
runs)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from flows.core.config import Settings
from tests.conftest import SAMPLES, TEST_BUDGET_S
from tests.tui.fixture.home import build_fixture_home, fixed_now
from tests.tui.fixture.traffic import log_traffic
from tui.app import AutopipeApp

TRAFFIC_ROWS = 200


@pytest.fixture(scope="session")
def tui_home(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A home of its own with a real titanic run (sliced by sex), 200 answered predictions
    logged by the service's own log writer (half with fares shifted), and a monitor run over
    them: runs, models, a data analysis, alerts and a review queue to act on."""
    from flows.core.monitoring.monitor import monitor_home
    from flows.train_flow import train

    home = tmp_path_factory.mktemp("tui-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTOPIPE_HOME", str(home))
        summary = train(source=str(SAMPLES / "titanic.csv"), target="survived",
                        budget_s=TEST_BUDGET_S, seed=0, slice_by=["sex"], min_slice_rows=200)
        settings = Settings()
        log_traffic(settings, summary.model_version, TRAFFIC_ROWS)
        monitor = monitor_home(settings, None)
    return {"settings": settings, "summary": summary, "monitor": monitor.as_dict()}


def fixed_app(tmp_path: Path) -> AutopipeApp:
    """The app on a copy of the fixed catalog, its clock fixed: what snapshots draw."""
    app = AutopipeApp(build_fixture_home(tmp_path))
    app.now = fixed_now  # type: ignore[method-assign]
    return app


async def settle(app: AutopipeApp) -> None:
    """Let the thread workers finish and their results reach the widgets, including the
    workers those results start (an action reloads rows, which load a detail)."""
    quiet = 0
    for _ in range(200):
        await asyncio.gather(*(worker.wait() for worker in app.workers),
                             return_exceptions=True)  # a cancelled worker is not a failure
        await asyncio.sleep(0.05)
        quiet = quiet + 1 if all(w.is_finished for w in app.workers) else 0
        if quiet >= 3:
            return


async def press(pilot: Pilot[None], *keys: str) -> None:
    """Press keys, then wait for what they started."""
    await pilot.press(*keys)
    assert isinstance(pilot.app, AutopipeApp)
    await settle(pilot.app)
