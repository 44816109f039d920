"""The ``autopipe`` command: parse, call the library, print. No logic of its own.

Library errors (AutopipeError) become one message and one hint on stderr and exit code 2,
never a traceback. Heavy imports (Prefect, BentoML, Textual) happen inside the commands
that need them, so ``autopipe runs`` stays quick.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from flows.cli.analysis import analysis_app
from flows.cli.console import (
    err,
    fmt,
    json_safe,
    load_settings,
    out,
    outcome_written,
    prefect_api,
    process_started,
    run_flow,
)
from flows.cli.feedback import feedback_app, review_app
from flows.cli.monitor import alerts_app, monitor_app
from flows.cli.registry import registry_app
from flows.cli.server import server_app
from flows.cli.summary import best_baseline, print_ingest_report, print_summary
from flows.core.config import Settings
from flows.core.errors import BUG_HINT, AutopipeError
from flows.core.records.run import RunSummary
from flows.core.store.catalog import Catalog

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="autopipe: from a table to a monitored, served model.")
app.add_typer(server_app, name="server")
app.add_typer(registry_app)
app.add_typer(analysis_app)
app.add_typer(monitor_app)
app.add_typer(alerts_app, name="alerts")
app.add_typer(feedback_app)
app.add_typer(review_app, name="review")
DEMO_SAMPLE = Path(__file__).resolve().parents[2] / "data" / "samples" / "titanic.csv"
SOURCE_HELP = ("A file (.csv .tsv .txt [.gz], .parquet, .json, .ndjson, .xlsx) or a database "
               "URI: sqlite:///file.db?table=T, postgresql://user@host/db?table=T.")
QUERY_HELP = "SQL query to read from a database URI (instead of ?table=)."
METRIC_HELP = ("Metric to optimise. Binary: log_loss (default), roc_auc, accuracy, f1, ap; "
               "multiclass: log_loss (default), accuracy, macro_f1, roc_auc_ovr; regression: "
               "rmse (default), mae, r2.")
PREFER_HELP = ("fast: one quick model; accurate: an ensemble whenever it validates better; "
               "balanced: an ensemble only if its gain pays for its slower predictions.")
MAX_MODELS_HELP = ("Fit exactly this many portfolio configurations, whatever the clock says, and "
                   "no tuner: the same data, seed and N give the same model, bit for bit "
                   "(--budget is then not kept).")


class PreferChoice(StrEnum):
    fast = "fast"
    balanced = "balanced"
    accurate = "accurate"


def train_once(settings: Settings, source: str, target: str, show_progress: bool,
               **options: Any) -> RunSummary:
    """Run the train flow in this process against the Prefect server; ``options`` are the
    flow's own parameters (budget_s, name, seed, query, metric, prefer, max_models,
    slice_by, min_slice_rows, policies, workers). The budget counts from this process's
    start."""
    from flows.core.data.ingest import check_source

    check_source(source, target, options.get("query"))

    def call() -> RunSummary:
        from flows.train_flow import train

        return train(source=source, target=target, started_at=process_started(), **options)

    return run_flow(settings, call, show_progress)


def train_remote(settings: Settings, source: str, target: str, show_progress: bool,
                 **options: Any) -> RunSummary:
    """Submit the train deployment and follow it until it ends; its summary."""
    from flows.core.data.ingest import check_source

    check_source(source, target, options.get("query"))
    prefect_api(settings)
    from flows.cli.progress import RunProgress
    from flows.server.remote import follow, submit_train

    flow_run_id = submit_train(settings, {"source": source, "target": target} | options)
    err.print(f"Submitted flow run {flow_run_id} to the train deployment.")
    if not show_progress:
        return follow(settings, flow_run_id, lambda _event: None, err.print)
    with RunProgress(err) as progress:
        return follow(settings, flow_run_id, progress.show, progress.progress.console.print)


@app.command()
def run(
    path: Annotated[str, typer.Argument(metavar="SOURCE", help=SOURCE_HELP)],
    target: Annotated[str, typer.Option("--target", "-t", help="Column to predict.")],
    budget: Annotated[float | None, typer.Option(
        help="Wall seconds for the whole run, from this command's start to the registered "
             "model (default 60).")] = None,
    name: Annotated[str | None, typer.Option(help="Dataset name (default: file name).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for split and search.")] = None,
    query: Annotated[str | None, typer.Option(help=QUERY_HELP)] = None,
    metric: Annotated[str | None, typer.Option(help=METRIC_HELP)] = None,
    prefer: Annotated[PreferChoice, typer.Option(help=PREFER_HELP)] = PreferChoice.balanced,
    max_models: Annotated[int | None, typer.Option(min=1, help=MAX_MODELS_HELP)] = None,
    slice_by: Annotated[list[str] | None, typer.Option(
        "--slice-by", help="Column to slice by (repeat for several): one model per slice "
                           "with enough rows, each compared with the global model.")] = None,
    min_slice_rows: Annotated[int, typer.Option(
        help="Rows a slice needs for its own model; smaller slices use the global one.")] = 300,
    workers: Annotated[int, typer.Option(help="Slices trained side by side.")] = 1,
    dask: Annotated[str | None, typer.Option(
        help="Train the slices on Dask: 'local' (a local cluster of --workers processes) or "
             "a scheduler address (tcp://host:8786; needs autopipe[dask]).")] = None,
    policy: Annotated[list[Path] | None, typer.Option(
        help="A policy file (YAML; repeat for several): the slices it governs are held to "
             "it. Examples: flows/policies/.")] = None,
    remote: Annotated[bool, typer.Option(
        "--remote", help="Submit the run to the server's train deployment and follow it "
                         "(its slices spread over the slice workers; autopipe server "
                         "start).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    outcome: Annotated[Path | None, typer.Option(
        help="Also write how the run ended (its run id and model, or the error and its "
             "hint) to this file as JSON: for programs that start runs.")] = None,
) -> None:
    """Train: ingest, baselines, a bagged portfolio, FLAML's tuner, ensembles, evaluate,
    register a servable model."""
    with outcome_written(outcome) as finished:
        settings = load_settings()
        options: dict[str, Any] = {
            "budget_s": budget, "name": name, "seed": seed, "query": query, "metric": metric,
            "prefer": prefer.value, "max_models": max_models, "slice_by": slice_by or None,
            "min_slice_rows": min_slice_rows,
            "policies": [str(p) for p in policy or []] or None}
        if remote and (dask or workers != 1):
            raise AutopipeError("--workers and --dask place the slices of a local run",
                                "a --remote run's slices go to the server's slice workers: "
                                "autopipe server start --workers N")
        if remote:
            summary = train_remote(settings, path, target, not as_json, **options)
        else:
            summary = train_once(settings, path, target, not as_json, workers=workers,
                                 dask=dask, **options)
        finished(summary)
    if as_json:
        print(summary.model_dump_json())
    else:
        print_summary(summary)


@app.command()
def ingest(
    source: Annotated[str, typer.Argument(help=SOURCE_HELP)],
    name: Annotated[str | None, typer.Option(help="Dataset name (default: from source).")] = None,
    query: Annotated[str | None, typer.Option(help=QUERY_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Ingest a source into a versioned, content-hashed dataset snapshot."""
    from flows.core.data import ingest as ingesting
    from flows.core.data.sources import parse_source

    settings = load_settings()
    with err.status("Ingesting…"):
        result = ingesting.ingest(parse_source(source, query), settings.datasets_dir, name)
        Catalog(settings.catalog_path).save_dataset(result.dataset)
    dataset = result.dataset
    if as_json:
        print(json.dumps({"name": dataset.name, "content_hash": dataset.content_hash,
                          "created": result.created, "rows": dataset.rows,
                          "columns": dataset.columns, "report": dataset.report}, default=str))
        return
    state = "new version" if result.created else "unchanged: existing version"
    out.print(f"Dataset [bold]{dataset.name}[/] {dataset.short_hash} ({state}): "
              f"{dataset.rows} rows, {dataset.columns} columns")
    print_ingest_report(dataset.report)


@app.command()
def datasets(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List dataset versions, newest first."""
    frame = Catalog(load_settings().catalog_path).datasets().drop("report")
    if as_json:
        print(json.dumps(frame.to_dicts(), default=str))
        return
    if frame.is_empty():
        err.print("No datasets yet. Add one: autopipe ingest SOURCE")
        return
    table = Table("name", "hash", "rows", "columns", "created", "previous version",
                  title="Datasets")
    for row in frame.iter_rows(named=True):
        table.add_row(row["name"], row["content_hash"][:16], str(row["rows"]),
                      str(row["columns"]), f"{row['created_at']:%Y-%m-%d %H:%M}",
                      (row["parent_hash"] or "")[:16])
    out.print(table)


@app.command()
def serve(
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1.")] = None,
    dataset: Annotated[str | None, typer.Option(help="Serve this dataset's release (default: "
                                                     "the newest model's dataset).")] = None,
    model: Annotated[str | None, typer.Option(help="Serve this version only, whatever the "
                                                   "aliases say.")] = None,
) -> None:
    """Serve a release over HTTP with `bentoml serve` (POST /predict, /explain, /metadata);
    promotions and rollbacks take effect without a restart."""
    import subprocess

    from flows.core.registry.release import release_path, write_pinned_release, write_release
    from flows.server.service import service_command, service_environment

    settings = load_settings()
    catalog = Catalog(settings.catalog_path)
    if model:
        release_file = write_pinned_release(catalog, model, settings.releases_dir)
    else:
        family = dataset or catalog.newest_family()
        release_file = release_path(settings.releases_dir, family)
        if not release_file.exists():
            release_file = write_release(catalog, family, settings.releases_dir)
    chosen_port = port or settings.serve.port
    err.print(f"Serving [bold]{release_file.stem}[/] ({release_file}) on "
              f"http://{settings.serve.host}:{chosen_port}  (Ctrl-C stops)")
    command = service_command(settings.serve.host, chosen_port)
    try:
        raise typer.Exit(subprocess.call(command, env=service_environment(settings,
                                                                          release_file)))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


@app.command()
def predict(
    input_path: Annotated[str, typer.Argument(metavar="INPUT", help="Source to score.")],
    out_path: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    dataset: Annotated[str | None, typer.Option(help="Score with this dataset's champion "
                                                     "(default: the newest model's dataset).")
                       ] = None,
    model: Annotated[str | None, typer.Option(help="Score with this model version.")] = None,
) -> None:
    """Score a file in batch: one output row per input row, in order."""
    from flows.core.registry.batch import predict_file
    from flows.core.registry.model import load_model

    settings = load_settings()
    catalog = Catalog(settings.catalog_path)
    record = catalog.model(model or catalog.champion(dataset))
    predictions = predict_file(input_path, load_model(record.artifact_path))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    predictions.to_csv(out_path, index=False)
    err.print(f"Wrote {len(predictions)} predictions by {record.version} to {out_path}")


@app.command()
def runs(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List training runs, newest first."""
    frame = Catalog(load_settings().catalog_path).list_runs()
    if as_json:
        print(json.dumps(json_safe(frame.to_dicts()), default=str))
        return
    if frame.is_empty():
        err.print("No runs yet. Start one: autopipe run PATH --target COLUMN")
        return
    table = Table("run", "dataset", "task", "model", "metric", "model", "best baseline",
                  "seconds", "started", title="Runs")
    for row in frame.iter_rows(named=True):
        table.add_row(row["run_id"], row["dataset"], row["task"], row["learner"] or "",
                      row["main_metric"], fmt(row["model_score"]),
                      fmt(best_baseline(row)), fmt(row["duration_s"], 1),
                      f"{row['started_at']:%Y-%m-%d %H:%M}")
    out.print(table)


@app.command()
def tui() -> None:
    """Open the terminal UI."""
    from tui.app import AutopipeApp

    AutopipeApp(load_settings()).run()


@app.command()
def demo(budget: Annotated[float, typer.Option(help="Search budget in seconds.")] = 10.0) -> None:
    """Train on the shipped Titanic sample, serve it, ask for a prediction, stop."""
    import httpx

    from flows.server.local_server import free_port
    from flows.server.service import start_service, stop_service, wait_ready

    settings = load_settings()
    err.print(f"[bold]1/3[/] Training on {DEMO_SAMPLE.name} (target 'survived', {budget:g} s)")
    summary = train_once(settings, str(DEMO_SAMPLE), "survived", True, budget_s=budget)
    print_summary(summary)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    err.print(f"[bold]2/3[/] Starting the prediction service on {base_url}")
    process = start_service(settings, Path(summary.release), "127.0.0.1", port,
                            settings.logs_dir / "demo-service.log")
    try:
        wait_ready(process, base_url)
        records = [
            {"pclass": 1, "name": "Allen, Miss. Elisabeth", "sex": "female", "age": 29,
             "sibsp": 0, "parch": 0, "ticket": "24160", "fare": 211.34, "cabin": "B5",
             "embarked": "S"},
            {"pclass": 3, "name": "Smith, Mr. John", "sex": "male", "age": 40, "sibsp": 0,
             "parch": 0, "ticket": "A/5 1234", "fare": 7.25, "cabin": None, "embarked": "S"},
        ]
        err.print("[bold]3/3[/] POST /predict with two passengers")
        response = httpx.post(f"{base_url}/predict", json={"records": records}, timeout=30)
        response.raise_for_status()
        out.print_json(data=response.json())
    finally:
        stop_service(process)
    err.print("Done. Next: autopipe runs · autopipe tui · autopipe serve. The local Prefect "
              "server keeps running for later runs; autopipe server stop ends it.")


CLI_ERROR: type[Exception] = next(c for c in typer.BadParameter.__mro__
                                  if c.__name__ == "ClickException")
"""The base of every usage error Typer raises (a mistyped option, a missing argument). Typer
vendors Click and exports no such base, so it is found through one it does export."""


def run_cli(argv: list[str] | None = None) -> int:
    """Run one command; library errors become a message and a hint, never a traceback."""
    try:
        app(args=argv, standalone_mode=False)
    except AutopipeError as exc:
        err.print(f"[bold red]error:[/] {exc.message}", soft_wrap=True, highlight=False)
        if exc.hint:
            err.print(f"[bold]hint:[/] {exc.hint}", soft_wrap=True, highlight=False)
        return 2
    except CLI_ERROR as exc:
        exc.show()  # type: ignore[attr-defined]
        close = getattr(exc, "possibilities", None)
        if close:
            err.print(f"[bold]hint:[/] did you mean {' or '.join(sorted(close))}?",
                      highlight=False)
        return int(exc.exit_code)  # type: ignore[attr-defined]
    except typer.Abort:
        err.print("aborted")
        return 1
    except (typer.Exit, SystemExit) as exc:
        return int(getattr(exc, "exit_code", getattr(exc, "code", 0)) or 0)
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as exc:
        if os.environ.get("AUTOPIPE_DEBUG"):
            raise
        err.print(f"[bold red]error:[/] unexpected failure: {type(exc).__name__}: {exc}",
                  soft_wrap=True, highlight=False)
        err.print(f"[bold]hint:[/] {BUG_HINT}")
        return 1
    return 0


def main() -> None:
    """Console entry point.

    Exits without the interpreter's final teardown: after a run, unloading CatBoost,
    XGBoost and LightGBM took ~1.4 s here. Output is flushed and atexit handlers (Prefect
    sends its last logs and events there) run first, so nothing is lost.
    """
    code = run_cli()
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(code)
