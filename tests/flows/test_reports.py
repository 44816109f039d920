"""The HTML reports: written by every run and by ``autopipe profile`` / ``report``, opened in
a real headless Chromium (Debian's, driven by Playwright) that renders them without errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from flows.cli.app import run_cli
from flows.core.config import Settings
from flows.core.records.run import RunSummary
from flows.core.store.catalog import Catalog
from tests.conftest import SAMPLES, tree
from tests.flows.test_cli import cli

CHROMIUM = shutil.which("chromium")
MAX_REPORT_BYTES = 5 * 1024 * 1024
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="apt-get install chromium "
                                                             "(.ci/chromium does)")


def rendered(path: Path, screenshot: Path) -> tuple[list[str], list[str]]:
    """The chart titles a browser drew, and every error the page logged."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: errors.append(f"request {r.url}"))
            page.goto(path.as_uri(), wait_until="load")
            charts = page.locator("svg.chart")
            charts.first.wait_for(state="visible")
            titles = [charts.nth(i).locator("title").first.text_content() or ""
                      for i in range(charts.count())]
            visible = page.evaluate("[...document.querySelectorAll('svg.chart')]"
                                    ".filter(s => s.getBoundingClientRect().width > 100).length")
            assert visible == len(titles)  # laid out, not collapsed
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return titles, errors


@needs_chromium
@pytest.mark.slow
@pytest.mark.parametrize(("task", "expected"), [
    ("binary", {"Confusion matrix", "ROC curve", "Calibration", "Permutation importance",
                "Best out-of-fold loss over the run", "Wall time", "CPU time",
                "Peak memory", "Association with the target"}),
    ("regression", {"Predicted against actual", "Residuals", "Residual distribution"}),
])
def test_every_run_writes_a_report_a_browser_renders(
        trained: dict[str, RunSummary], tmp_path: Path, task: str,
        expected: set[str]) -> None:
    report = Path(trained[task].report)
    assert report.name == f"run-{trained[task].run_id}.html"
    assert report.stat().st_size < MAX_REPORT_BYTES
    text = report.read_text()
    assert not re.search(r"(src|href)\s*=\s*[\"']?https?:|url\(\s*[\"']?https?:|<script", text)
    titles, errors = rendered(report, tmp_path / "run.png")
    assert errors == []
    assert expected <= {t.split(" (")[0] for t in titles}
    assert (tmp_path / "run.png").stat().st_size > 50_000


@needs_chromium
@pytest.mark.slow
def test_the_data_report_renders_with_every_section(
        trained: dict[str, RunSummary], tmp_path: Path) -> None:
    report = Path(trained["binary"].data_report)
    titles, errors = rendered(report, tmp_path / "data.png")
    assert errors == []
    assert {"Class balance", "Association of every pair", "Missing values by row",
            "Missing share per column", "age: distribution",
            "sex: most frequent values"} <= set(titles)
    assert {a.kind for a in trained["binary"].data_alerts} >= {"missing"}  # cabin


def test_profile_writes_the_report_and_records_the_analysis(
        fresh_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(["profile", str(SAMPLES / "penguins.csv"), "-t", "species"], capsys)
    assert code == 0
    assert "344 rows" in out and "Data alerts: 0 critical" in out and "Report: " in out
    code, out, _ = cli(["profile", str(SAMPLES / "penguins.csv"), "-t", "species", "--json"],
                       capsys)
    path = Path(json.loads(out)["report_path"])
    assert path.exists() and path.parent == Settings().reports_dir
    dataset = Catalog(Settings().catalog_path).datasets().row(0, named=True)
    stored = Catalog(Settings().catalog_path).profile(dataset["content_hash"], "species")
    assert stored is not None and stored["report_path"] == str(path)
    assert stored["dataset"]["class_balance"][0]["value"] == "Adelie"


def test_profile_of_a_missing_target_says_so_and_writes_nothing(
        fresh_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(["profile", str(SAMPLES / "penguins.csv"), "-t", "nope"], capsys)
    assert code == 2
    assert "nope" in err and "Traceback" not in err
    assert tree(fresh_home) <= {"autopipe.duckdb", "autopipe.duckdb.lock"}


def test_report_rebuilds_a_run_report_and_names_an_unknown_run(
        trained: dict[str, RunSummary], capsys: pytest.CaptureFixture[str]) -> None:
    report = Path(trained["multiclass"].report)
    report.unlink()
    assert run_cli(["report", trained["multiclass"].run_id]) == 0
    assert report.exists() and "ROC curve per class" in report.read_text()
    code, _, err = cli(["report", "no-such-run"], capsys)
    assert code == 2 and "no run 'no-such-run'" in err
